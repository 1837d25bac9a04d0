"""The reception desk's Textual app and the headless renderer. Renders state, sends intents; no I/O."""
