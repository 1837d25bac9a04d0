"""Simulators of what the drivers talk to: virtual cards and readers (for `kiosk demo`, bench checks, tests)."""
