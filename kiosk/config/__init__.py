"""The kiosk's configuration: one TOML file, typed sections, atomic edits, live reload."""

from kiosk.config.load import DEFAULT_PATH, config_path, load_config, parse_config
from kiosk.config.schema import Config

__all__ = ["DEFAULT_PATH", "Config", "config_path", "load_config", "parse_config"]
