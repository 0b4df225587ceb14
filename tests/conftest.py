"""Shared fixtures: settings in a temp data dir, an app on SQLite, and a throwaway
PostgreSQL database on the real server (skipped locally when it is down, fatal in CI)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from riskloop.bootstrap import Riskloop, build
from riskloop.config import Settings
from tests.support.postgres import database_or_skip


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env({"RISKLOOP_DATA_DIR": str(tmp_path / "data")})


@pytest.fixture
def rl(settings: Settings) -> Iterator[Riskloop]:
    app = build(settings)
    yield app
    app.close()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh database for this test session; its URL (psycopg driver)."""
    yield from database_or_skip()


@pytest.fixture
def pg_settings(tmp_path: Path, pg_database: str) -> Iterator[Settings]:
    s = Settings.from_env(
        {"RISKLOOP_DATA_DIR": str(tmp_path / "data"), "RISKLOOP_DATABASE_URL": pg_database}
    )
    yield s
    engine = create_engine(pg_database)
    with engine.begin() as conn:  # each test starts from no tables at all
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def any_settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    """Settings for each record backend: the same test runs on SQLite and PostgreSQL."""
    if request.param == "sqlite":
        return settings
    return request.getfixturevalue("pg_settings")  # type: ignore[no-any-return]


@pytest.fixture
def any_rl(any_settings: Settings) -> Iterator[Riskloop]:
    app = build(any_settings)
    yield app
    app.close()
