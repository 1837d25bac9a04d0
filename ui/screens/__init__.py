"""One screen per desk state (waiting, PIN, desk) and the dialogs opened from the desk."""
