"""The reception desk's Textual TUI: a thin App, one screen per desk state, styles in .tcss files."""
