"""Fixtures for running ``riskloop ...`` in-process (typer's CliRunner)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from riskloop.entrypoints.cli import app as cli


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A clean ``RISKLOOP_*`` environment with its own data directory."""
    for name in list(os.environ):
        if name.startswith("RISKLOOP_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("RISKLOOP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "250")
    return {"RISKLOOP_DATA_DIR": str(tmp_path / "data")}


@pytest.fixture
def run(env: dict[str, str]) -> Iterator[Any]:
    """``riskloop ...`` in-process; the root logger (which the CLI re-configures) restored."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    runner = CliRunner()

    def invoke(*args: str) -> Any:
        return runner.invoke(cli, list(args))

    yield invoke
    root.handlers[:], root.level = handlers, level
