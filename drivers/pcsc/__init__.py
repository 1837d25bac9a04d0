"""PC/SC backend through pcscd, on pyscard's raw `smartcard.scard` API (event-driven, no polling)."""
