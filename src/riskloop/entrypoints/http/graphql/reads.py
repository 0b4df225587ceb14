"""The reads GraphQL needs that no service offers: decisions newest first (keyset on the
time-ordered decision id), the decisions about one entity, and the case each decision
joined.

An entity's key is where the feature engine finds it in the stored event
(``features.ENTITY_KEYS``, the first path present), so "the decisions of card tok_..." are
the decisions the card's features counted. A card is found through the indexed
``card_token`` column; customers, accounts, devices, IPs, e-mails and payees through the
entity index (``service/entity_index.py``); merchants, terminals and BINs through the
event's JSON, a scan of the decisions newest first until a page is full (each names many
payments, so a page fills quickly).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Engine, select
from sqlalchemy.exc import SQLAlchemyError

from riskloop.adapters.sql.entity_index import events_about, in_event
from riskloop.adapters.sql.schema import case_items, decisions, event_log
from riskloop.errors import StorageError
from riskloop.ledger.records import Decision
from riskloop.service.entity_index import INDEXED

EVENT = "event"  # a case about an event with no entity (cases.model.entity_of)


def _entity_is(entity_type: str, key: str) -> ColumnElement[bool]:
    if entity_type == EVENT:
        return decisions.c.event_id == key
    if entity_type == "card":  # card payments carry their token in an indexed column
        return event_log.c.card_token == key
    if entity_type in INDEXED:
        return event_log.c.seq.in_(events_about(entity_type, key))
    return in_event(entity_type, key)


class GraphReads:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _decisions(self, q: Any) -> list[Decision]:
        try:
            with self.engine.connect() as conn:
                return [Decision.from_dict(body) for (body,) in conn.execute(q)]
        except SQLAlchemyError as exc:
            raise StorageError(f"decision read failed: {type(exc).__name__}") from exc

    def decisions(
        self,
        *,
        before: str | None,
        limit: int,
        outcome: str | None = None,
        event_type: str | None = None,
    ) -> list[Decision]:
        """Newest first, older than the decision id ``before`` if given."""
        q = select(decisions.c.body).order_by(decisions.c.decision_id.desc()).limit(limit)
        if before is not None:
            q = q.where(decisions.c.decision_id < before)
        if outcome is not None:
            q = q.where(decisions.c.outcome == outcome)
        if event_type is not None:
            q = q.where(decisions.c.event_type == event_type)
        return self._decisions(q)

    def entity_decisions(
        self, entity_type: str, key: str, *, before: str | None, limit: int
    ) -> list[Decision]:
        """The decisions on events about the entity, newest first."""
        q = (
            select(decisions.c.body)
            .select_from(decisions.join(event_log, event_log.c.event_id == decisions.c.event_id))
            .where(_entity_is(entity_type, key))
            .order_by(decisions.c.decision_id.desc())
            .limit(limit)
        )
        if before is not None:
            q = q.where(decisions.c.decision_id < before)
        return self._decisions(q)

    def cases_of(self, event_ids: Sequence[str]) -> dict[str, str]:
        """``event id -> case id`` for those of the events whose decision joined a case."""
        q = select(case_items.c.event_id, case_items.c.case_id).where(
            case_items.c.event_id.in_(list(event_ids))
        )
        try:
            with self.engine.connect() as conn:
                return {r.event_id: r.case_id for r in conn.execute(q)}
        except SQLAlchemyError as exc:
            raise StorageError(f"case read failed: {type(exc).__name__}") from exc
