"""What every command handler receives: parsed options, the configuration (loaded on first use), output."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from kiosk.config import Config, config_path, load_config

__all__ = ["CliContext"]


@dataclass
class CliContext:
    args: argparse.Namespace
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    _config: Config | None = None

    @property
    def json(self) -> bool:
        return bool(getattr(self.args, "json", False))

    @property
    def config_path(self) -> Path:
        return config_path(getattr(self.args, "config", None))

    @property
    def config(self) -> Config:
        """The configuration, loaded once; a `ConfigError` here becomes exit code 2 in `main`."""
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config

    def emit(self, data: dict[str, Any], text: str) -> None:
        """One result: JSON on stdout with --json, else the human text."""
        if self.json:
            self.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
        else:
            self.stdout.write(text.rstrip("\n") + "\n")

    def say(self, text: str) -> None:
        """Progress for humans; silent with --json so that stdout stays parseable."""
        if not self.json:
            self.stderr.write(text.rstrip("\n") + "\n")
