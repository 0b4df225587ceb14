"""A SQLite connection of its own for one hot write path (a decision's event, a decision's
record), used without SQLAlchemy: pool checkout, events and statement handling cost ~140 µs
a transaction, as much as the durable commit itself. The connection comes from the engine,
so it has the engine's settings (WAL, busy timeout); one caller uses it at a time."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine


class DedicatedConnection:
    def __init__(self, engine: Engine, *, synchronous: str | None = None) -> None:
        self._engine = engine
        self._synchronous = synchronous
        self._proxy: Any = None
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        if self._proxy is None:
            self._proxy = self._engine.raw_connection()
            if self._synchronous is not None:
                self._proxy.driver_connection.execute(f"PRAGMA synchronous={self._synchronous}")
        conn: sqlite3.Connection = self._proxy.driver_connection
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT (ROLLBACK on any error), one caller at a time."""
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            if self._proxy is not None:
                self._proxy.close()
                self._proxy = None
