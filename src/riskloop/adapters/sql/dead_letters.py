"""Dead letters: input rejected from files or streams, payload sealed, reason in clear."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Row, func, select
from sqlalchemy.exc import SQLAlchemyError

from riskloop.adapters.sql._dialect import insert_ignoring_conflicts
from riskloop.adapters.sql.schema import dead_letters
from riskloop.domain.events import DeadLetter, SealedBox
from riskloop.errors import StorageError


def _to_letter(row: Row[Any]) -> DeadLetter:
    return DeadLetter(
        id=row.id,
        source=row.source,
        reason=row.reason,
        payload=SealedBox(row.payload_ciphertext, row.payload_wrapped_key, row.payload_key_version),
        fingerprint=row.fingerprint,
        received_at=row.received_at,
    )


class SqlDeadLetters:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, letters: Sequence[DeadLetter]) -> int:
        if not letters:
            return 0
        params = [
            {
                "received_at": d.received_at,
                "source": d.source[:256],
                "reason": d.reason,
                "fingerprint": d.fingerprint,
                "payload_ciphertext": d.payload.ciphertext,
                "payload_wrapped_key": d.payload.wrapped_key,
                "payload_key_version": d.payload.key_version,
            }
            for d in letters
        ]
        try:
            with self.engine.begin() as conn:
                stmt = insert_ignoring_conflicts(conn, dead_letters, "fingerprint").returning(
                    dead_letters.c.id
                )
                return len(conn.execute(stmt, params).all())
        except SQLAlchemyError as exc:
            raise StorageError(f"dead-letter write failed: {type(exc).__name__}") from exc

    def list(self, *, limit: int = 100, offset: int = 0) -> list[DeadLetter]:
        q = select(dead_letters).order_by(dead_letters.c.id).limit(limit).offset(offset)
        with self.engine.connect() as conn:
            return [_to_letter(r) for r in conn.execute(q)]

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(dead_letters)).scalar_one())

    def counts_by_source(self, start: datetime, end: datetime) -> dict[str, int]:
        """Dead letters received in ``[start, end)`` per source, the line number dropped
        (a letter's source is ``<source>:<line>``: ``file:a.csv:17`` counts for
        ``file:a.csv``)."""
        source = func.rtrim(func.rtrim(dead_letters.c.source, "0123456789"), ":")
        q = (
            select(source, func.count())
            .where((dead_letters.c.received_at >= start) & (dead_letters.c.received_at < end))
            .group_by(source)
        )
        try:
            with self.engine.connect() as conn:
                return {r[0]: int(r[1]) for r in conn.execute(q)}
        except SQLAlchemyError as exc:
            raise StorageError(f"dead-letter read failed: {type(exc).__name__}") from exc
