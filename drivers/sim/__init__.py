"""Simulators of what the drivers talk to (for `kiosk demo`, bench checks, tests): the in-process `sim` backend
(`backend`), virtual cards (`virtual_cards`), reader simulators (`readers`) and the project's one test PKI (`pki`)."""
