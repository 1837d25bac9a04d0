"""Hardware: reader backends, the reader manager, card applications and printers.

Knows nothing of INSi, the DMP or the UI (DESIGN.md: ui -> kiosk -> drivers).
"""
