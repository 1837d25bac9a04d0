"""The reception kiosk's core, in four rooms: domain, teleservices, desk, appliance; beside them config,
cli and the simulators (sim)."""

__version__ = "0.1.0"
