"""The reception kiosk's core: domain model, workflows, teleservice clients, configuration, CLI."""

__version__ = "0.1.0"
