"""The `kiosk` command line: the technician's and integrator's interface (DESIGN.md)."""
