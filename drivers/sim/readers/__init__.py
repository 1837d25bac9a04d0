"""Reader simulators that serve a virtual card: serial CCID (GemPC Twin) and GemCore lines, and a vpcd
client for pcscd's virtual reader driver."""
