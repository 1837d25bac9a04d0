"""CLI exit codes, shared by every verb (DESIGN.md)."""

OK = 0  # done, positive answer
NEGATIVE = 1  # negative answer: not found, invalid
USAGE = 2  # usage or configuration error
EXTERNAL = 3  # reader, network or service failure
