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
    def __init__(
        self, engine: Engine, *, synchronous: str | None = None, autocheckpoint: int | None = None
    ) -> None:
        self._engine = engine
        self._synchronous = synchronous
        self._autocheckpoint = autocheckpoint
        self._proxy: Any = None
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        if self._proxy is None:
            self._proxy = self._engine.raw_connection()
            raw = self._proxy.driver_connection
            if self._synchronous is not None:
                raw.execute(f"PRAGMA synchronous={self._synchronous}")
            if self._autocheckpoint is not None:
                raw.execute(f"PRAGMA wal_autocheckpoint={int(self._autocheckpoint)}")
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


class Checkpointer:
    """Moves the write-ahead log into the database from a background thread, so a decision's
    commit never pays for a checkpoint (SQLite otherwise runs one inside whichever commit
    crosses 1,000 pages: milliseconds at p99). Passive: it never blocks writers. The hot
    connections keep a far-off automatic checkpoint as a safety net."""

    SAFETY_PAGES = 20_000

    def __init__(self, engine: Engine, *, every_s: float = 0.5) -> None:
        self._conn = DedicatedConnection(engine)
        self._every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._every_s):
            try:
                with self._conn._lock:
                    self._conn._connection().execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error:  # busy or closed: the next round (or the safety net) does it
                continue

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._conn.close()
