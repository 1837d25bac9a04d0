"""One module per verb. Each defines `register(subparsers, parent)`, optionally `ORDER` (help order).

Handlers take a `CliContext` and return an exit code (`kiosk.exitcodes`). Keep imports at module level
light; import heavy libraries inside handlers.
"""
