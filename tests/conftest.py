"""Shared fixtures: settings in a temp data dir, an app on SQLite, and a throwaway
PostgreSQL database on the real server (skipped locally when it is down, fatal in CI)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from riskloop.bootstrap import Riskloop, build
from riskloop.config import Settings

PG_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


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
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"riskloop_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL not reachable: {exc.orig}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


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
