"""Shared helpers for CLI modules: configuration loading and error reporting in Unix style."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import NoReturn

from rich.console import Console

from soc.config import ConfigError, Settings, load_config

err_console = Console(stderr=True, highlight=False)


@dataclass
class _State:
    config_path: str | None = None
    _settings: Settings | None = None

    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = load_config(self.config_path)
            except ConfigError as exc:
                fail(str(exc), code=78)  # EX_CONFIG
        return self._settings


state = _State()


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``soc: error: message`` to stderr and exit with ``code``."""
    err_console.print(f"[bold red]soc: error:[/] {message}", markup=True, soft_wrap=True)
    sys.exit(code)


def settings() -> Settings:
    return state.settings()
