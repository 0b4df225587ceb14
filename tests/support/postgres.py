"""A throwaway PostgreSQL database on the real server, for tests and benchmarks."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

PG_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@contextmanager
def throwaway_database(
    admin_url: str = PG_ADMIN_URL, prefix: str = "riskloop_test"
) -> Iterator[str]:
    """A new, empty database beside ``admin_url``'s; its URL. Dropped on exit, whoever is
    still connected. Raises ``sqlalchemy.exc.OperationalError`` when the server is down."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield admin_url.rsplit("/", 1)[0] + f"/{name}"
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def database_or_skip(prefix: str = "riskloop_test") -> Iterator[str]:
    """For a fixture (``yield from`` it): a throwaway database, or the test skipped where
    PostgreSQL is down, except in CI, where that is an error."""
    with ExitStack() as stack:
        try:
            url = stack.enter_context(throwaway_database(prefix=prefix))
        except OperationalError as exc:
            if os.environ.get("CI"):
                raise
            pytest.skip(f"PostgreSQL not reachable: {exc.orig}")
        yield url
