"""The entity index in SQL (see ``service/entity_index.py``): the store the follower fills,
and the query readers use to find the events about an entity."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, Select, func, select, union_all, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from riskloop.adapters.sql._dialect import chunks, insert_ignoring_conflicts
from riskloop.adapters.sql.schema import entity_index, event_log, index_positions
from riskloop.errors import StorageError
from riskloop.features import ENTITY_KEYS
from riskloop.service.entity_index import INDEXED

NAME = "entities"
_e = entity_index.c
_p = index_positions.c


def _json_text(path: str) -> ColumnElement[Any]:
    parts = path.split(".")
    node = event_log.c.data[parts[0]] if len(parts) == 1 else event_log.c.data[tuple(parts)]
    text: ColumnElement[Any] = node.as_string()
    return text


def in_event(kind: str, key: str) -> ColumnElement[bool]:
    """A stored event names the entity: its value at the first path present (a scan)."""
    paths = [_json_text(p) for p in ENTITY_KEYS[kind]]
    found = paths[0] if len(paths) == 1 else func.coalesce(*paths)
    return found == key


def events_about(kind: str, key: str) -> Select[Any]:
    """The ``seq`` of every stored event that names the entity: from the index up to its
    position, and by matching the JSON of the newer events (the tail not indexed yet)."""
    if kind not in INDEXED:
        raise ValueError(f"{kind!r} is not indexed")
    position = (
        select(func.coalesce(func.max(_p.position), 0)).where(_p.name == NAME).scalar_subquery()
    )
    indexed = select(_e.seq).where(_e.entity == kind, _e.value == key, _e.seq <= position)
    tail = select(event_log.c.seq).where(event_log.c.seq > position, in_event(kind, key))
    return select(union_all(indexed, tail).subquery().c.seq)


class SqlEntityIndex:
    """:class:`~riskloop.service.entity_index.EntityIndexStore` on ``entity_index``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def position(self) -> int:
        q = select(_p.position).where(_p.name == NAME)
        try:
            with self.engine.connect() as conn:
                return int(conn.execute(q).scalar_one_or_none() or 0)
        except SQLAlchemyError as exc:
            raise StorageError(f"entity index read failed: {type(exc).__name__}") from exc

    def settled(self, after: int, before: datetime) -> int:
        """The highest seq past ``after`` of an event stored before ``before`` (``after``
        if none): a range read on the primary key, no payload decoded."""
        q = select(func.max(event_log.c.seq)).where(
            event_log.c.seq > after, event_log.c.ingested_at < before
        )
        try:
            with self.engine.connect() as conn:
                return int(conn.execute(q).scalar_one_or_none() or after)
        except SQLAlchemyError as exc:
            raise StorageError(f"entity index read failed: {type(exc).__name__}") from exc

    def behind(self) -> int:
        """Log positions past the index's position (the tail a lookup matches in JSON)."""
        try:
            with self.engine.connect() as conn:
                head = conn.execute(select(func.max(event_log.c.seq))).scalar_one_or_none()
        except SQLAlchemyError as exc:
            raise StorageError(f"entity index read failed: {type(exc).__name__}") from exc
        return max(0, int(head or 0) - self.position())

    def add(self, rows: Sequence[tuple[str, str, int]], position: int) -> None:
        try:
            with self.engine.begin() as conn:
                dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
                for part in chunks(list(rows), 2000):
                    conn.execute(  # on the whole key: another indexer may have been here
                        dialect.insert(entity_index).on_conflict_do_nothing(),
                        [{"entity": k, "value": v, "seq": s} for k, v, s in part],
                    )
                conn.execute(
                    insert_ignoring_conflicts(conn, index_positions, "name"),
                    {"name": NAME, "position": 0},
                )
                conn.execute(  # forward only: another process may have gone further
                    update(index_positions)
                    .where(_p.name == NAME, _p.position < position)
                    .values(position=position)
                )
        except SQLAlchemyError as exc:
            raise StorageError(f"entity index write failed: {type(exc).__name__}") from exc


def forget(conn: Any, seqs: Sequence[int]) -> None:
    """Drop the index rows of events deleted or anonymised (retention), in the caller's
    transaction: an anonymised event keeps no keyed hash, here either."""
    for part in chunks(list(seqs)):
        conn.execute(entity_index.delete().where(_e.seq.in_(part)))
