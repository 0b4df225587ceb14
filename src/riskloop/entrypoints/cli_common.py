"""What every ``riskloop`` command shares: consoles, settings and app wiring that exit with
a message (not a traceback) when something is wrong."""

from __future__ import annotations

import typer
from rich.console import Console

from riskloop.bootstrap import Riskloop, build
from riskloop.config import Settings
from riskloop.entrypoints.logs import configure_logging
from riskloop.errors import ConfigError, RiskloopError

err = Console(stderr=True)
out = Console()


def settings_or_exit() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        err.print(f"[red]invalid setting[/red] {exc.variable}: {exc.reason}")
        raise typer.Exit(2) from None


def app_or_exit(*, migrate: bool | None = None, rebuild_features: bool = False) -> Riskloop:
    """The app for a command; only commands that read live features rebuild their state."""
    settings = settings_or_exit()
    configure_logging(settings.log_level, settings.log_format)
    try:
        return build(settings, migrate=migrate, rebuild_features=rebuild_features)
    except RiskloopError as exc:
        err.print(f"[red]cannot start:[/red] {exc}")
        raise typer.Exit(1) from None
