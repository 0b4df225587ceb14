"""Labels in: from the API, from files and from case resolutions, into the event log.

A label is stored as a ``label`` event, so it is durable and idempotent like any event
(the client's ``label_id`` is the key: a retry is a duplicate, never a second label), it
reaches the online features in stream order, and a training set replaying the log sees it
exactly when it arrived. The label index (``labels`` table) is a projection of those events
for reads: which labels an event has, which are pending.

A label sent with ``match`` keys instead of an event id is matched to one card payment
(same card, amount and currency, within a day of ``match.on``, same merchant if given)
before it is stored. When no single payment fits, it is stored anyway, pending, with the
reason; ``resolve_pending`` tries again later and stores the matched label under
``<label_id>:matched``, dated when the match was made (that is when riskloop learnt it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from riskloop.domain.events import AppendStatus, StoredEvent
from riskloop.domain.labels import LabelEntry, effective, entry_of
from riskloop.errors import FieldError, InvalidEvent, NotFound
from riskloop.intake.labels import client_errors, client_label_id, to_log_payload
from riskloop.intake.mapping import ColumnMapping
from riskloop.intake.validation import validate_event
from riskloop.service.ingest import BatchProgress, ImportSummary, Ingestor, RawRecord
from riskloop.vault import mask_text

log = logging.getLogger(__name__)
MATCHED_SUFFIX = ":matched"


class LabelIndex(Protocol):
    def sync(self, *, event_ids: Sequence[str] | None = None, batch: int = 1000) -> int:
        """Index the label events it lacks (among ``event_ids`` only, if given)."""
        ...

    def entries(
        self,
        *,
        target_event_id: str | None = None,
        kind: str | None = None,
        pending: bool | None = None,
        since: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[LabelEntry]: ...

    def for_events(self, event_ids: list[str]) -> list[LabelEntry]: ...

    def counts(self) -> dict[str, Any]: ...

    def standing(self) -> dict[str, bool]:
        """Each labelled event's standing verdict (True: fraud), by precedence."""
        ...


class PaymentWindow(Protocol):
    def card_payments(self, token: str, start: datetime, end: datetime) -> list[StoredEvent]:
        """A card's payments in ``[start, end)`` (indexed by card token)."""
        ...

    def get(self, event_id: str) -> StoredEvent | None: ...


@dataclass(frozen=True, slots=True)
class LabelReceipt:
    label_id: str
    status: str  # accepted, duplicate
    event_id: str | None
    fraud: bool | None
    pending: bool
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "label_id": self.label_id,
            "status": self.status,
            "event_id": self.event_id,
            "fraud": self.fraud,
            "pending": self.pending,
            "reason": self.reason,
        }


@dataclass
class _Record:
    """A line of a label file, turned into the log's payload (or its error)."""

    line: int
    value: Any
    error: str | None = None


class LabelService:
    def __init__(
        self,
        *,
        ingestor: Ingestor,
        events: PaymentWindow,
        index: LabelIndex,
        card_token: Callable[[str], str],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.ingestor = ingestor
        self.events = events
        self.index = index
        self.card_token = card_token
        self.clock = clock

    # -- in ---------------------------------------------------------------------------------

    def _prepare(self, body: object) -> dict[str, Any]:
        """The log payload for a client's label, matched if it came with keys."""
        payload = to_log_payload(body, self.clock())
        # A retry must come out as the same body, or it would be a conflict: it keeps the
        # stored arrival time (when it sent none) and the stored outcome of its match.
        before = self.events.get(payload["event_id"])
        if before is not None and isinstance(body, dict) and "reported_at" not in body:
            payload["occurred_at"] = before.occurred_at.isoformat()
        try:
            record = validate_event(payload)
        except InvalidEvent as exc:
            raise client_errors(exc) from None
        match = getattr(record, "match", None)
        if match is not None and payload.get("target_event_id") is None and before is not None:
            for key in ("target_event_id", "unmatched"):
                if key in before.data:
                    payload[key] = before.data[key]
        elif match is not None and payload.get("target_event_id") is None:
            card = match.card
            token = self.card_token(card.pan) if card.pan else str(card.token)
            target, why = self._match(
                token, match.amount, match.currency, match.on, match.merchant_id
            )
            if target is not None:
                payload["target_event_id"] = target
            else:
                payload["unmatched"] = why
        return payload

    def submit(self, body: object, *, source: str = "api") -> LabelReceipt:
        """Store one label (idempotent on ``label_id``)."""
        payload = self._prepare(body)
        try:
            outcome = self.ingestor.ingest(payload, source=source)
        except InvalidEvent as exc:
            raise client_errors(exc) from None
        self.sync([payload["event_id"]])
        return self._receipt(payload["event_id"], outcome.status.value)

    def submit_batch(self, bodies: Sequence[object], *, source: str = "api") -> list[LabelReceipt]:
        """Store labels whole or not at all; errors name ``labels[i].field``."""
        if not bodies:
            raise InvalidEvent([FieldError("labels", "empty batch")])
        payloads, errors = [], []
        for i, body in enumerate(bodies):
            try:
                payloads.append(self._prepare(body))
            except InvalidEvent as exc:
                errors.extend(exc.prefixed(f"labels[{i}]").errors)
        if errors:
            raise InvalidEvent(errors)
        try:
            outcomes = self.ingestor.ingest_batch(payloads, source=source)
        except InvalidEvent as exc:
            raise InvalidEvent(
                [FieldError(e.field.replace("events[", "labels[", 1), e.reason) for e in exc.errors]
            ) from None
        self.sync([p["event_id"] for p in payloads])
        return [
            self._receipt(p["event_id"], o.status.value)
            for p, o in zip(payloads, outcomes, strict=True)
        ]

    def import_records(
        self,
        records: Iterable[RawRecord],
        *,
        source: str,
        mapping: ColumnMapping | None = None,
        batch_size: int = 1000,
        on_batch: Callable[[BatchProgress], None] | None = None,
    ) -> ImportSummary:
        """A label file, batch by batch; bad lines go to the dead letters with the reason.
        Flat rows (CSV, Parquet) are nested by ``mapping`` first (``match.card.pan``)."""
        mapping = mapping or ColumnMapping()
        ids: list[str] = []

        def prepared() -> Iterator[RawRecord]:
            for rec in records:
                if rec.error is not None:
                    yield rec
                    continue
                value = mapping.apply(rec.value) if isinstance(rec.value, dict) else rec.value
                try:
                    payload = self._prepare(value)
                except InvalidEvent as exc:
                    # The reason is kept beside the sealed row: no card number in it.
                    yield _Record(rec.line, value, mask_text(str(exc)))
                    continue
                ids.append(payload["event_id"])
                yield _Record(rec.line, payload)

        def indexed(progress: BatchProgress) -> None:
            self.sync(ids)  # the batch is committed: index it before acknowledging
            ids.clear()
            if on_batch is not None:
                on_batch(progress)

        return self.ingestor.import_records(
            prepared(), source=source, batch_size=batch_size, on_batch=indexed
        )

    def _match(
        self,
        token: str,
        amount: int,
        currency: str,
        on: date,
        merchant_id: str | None,
    ) -> tuple[str | None, str]:
        start = datetime(on.year, on.month, on.day, tzinfo=UTC) - timedelta(days=1)
        found = [
            e
            for e in self.events.card_payments(token, start, start + timedelta(days=3))
            if e.data.get("amount") == amount
            and e.data.get("currency") == currency
            and (merchant_id is None or e.data.get("merchant", {}).get("id") == merchant_id)
        ]
        # A capture or refund of the same payment is not a second candidate.
        auths = [e for e in found if e.data.get("kind", "authorization") == "authorization"]
        found = auths or found
        if len(found) == 1:
            return found[0].event_id, ""
        if not found:
            return None, "match: no card payment fits these keys (yet)"
        return None, f"match: {len(found)} card payments fit these keys; send event_id"

    # -- reads ------------------------------------------------------------------------------

    def sync(self, event_ids: Sequence[str] | None = None) -> int:
        """Bring the label index up to date: with ``event_ids``, just those (after an
        append); without, everything the log has and the index lacks (a server runs this
        every 30 s, which also heals an append whose indexing a crash interrupted)."""
        return self.index.sync(event_ids=event_ids)

    def _receipt(self, event_id: str, status: str) -> LabelReceipt:
        stored = self.events.get(event_id)
        if stored is None:  # cannot happen after a successful append; say so if it does
            raise NotFound("label", client_label_id(event_id))
        entry = entry_of(stored)
        assert entry is not None
        pending = entry.target_event_id is None or self.events.get(entry.target_event_id) is None
        return LabelReceipt(
            label_id=client_label_id(event_id),
            status=status,
            event_id=entry.target_event_id,
            fraud=entry.fraud,
            pending=pending,
            reason=entry.detail.get("unmatched") or ("event not known yet" if pending else None),
        )

    def labels(self, **filters: Any) -> list[LabelEntry]:
        return self.index.entries(**filters)

    def standing(self) -> dict[str, bool]:
        """Each labelled event's verdict as known now, the index brought up to date first."""
        self.index.sync()
        return self.index.standing()

    def verdicts(self, event_ids: Sequence[str]) -> dict[str, bool]:
        """The standing verdict (True: fraud) of those of ``event_ids`` that have one."""
        entries: dict[str, list[LabelEntry]] = {}
        ids = list(dict.fromkeys(event_ids))
        for i in range(0, len(ids), 500):
            for e in self.index.for_events(ids[i : i + 500]):
                entries.setdefault(e.target_event_id or "", []).append(e)
        out = {}
        for event_id, found in entries.items():
            standing = effective(found)
            if standing is not None and standing.fraud is not None:
                out[event_id] = standing.fraud
        return out

    def for_event(self, event_id: str) -> dict[str, Any]:
        """An event's labels in arrival order, and the one that stands."""
        entries = self.index.for_events([event_id])
        standing = effective(entries)
        return {
            "event_id": event_id,
            "effective": standing.as_dict() if standing else None,
            "labels": [e.as_dict() for e in entries],
        }

    def pending_report(self, *, limit: int = 100) -> dict[str, Any]:
        """Labels waiting for their event: how many, why, and the oldest first."""
        waiting = self.index.entries(pending=True, limit=limit)
        reasons: dict[str, int] = {}
        for e in waiting:
            why = e.detail.get("unmatched") or "event not known yet"
            reasons[why] = reasons.get(why, 0) + 1
        return {
            **self.index.counts(),
            "reasons": reasons,
            "labels": [e.as_dict() for e in waiting],
        }

    # -- later ------------------------------------------------------------------------------

    def resolve_pending(self, *, limit: int = 10_000) -> dict[str, int]:
        """Try the match keys of pending labels again; store what now matches."""
        tried = matched = 0
        for entry in self.index.entries(pending=True, limit=limit):
            m = entry.detail.get("match")
            if not m or entry.target_event_id is not None:
                continue  # waits for its event id to arrive: nothing to match
            tried += 1
            target, _ = self._match(
                m["card_token"],
                m["amount"],
                m["currency"],
                date.fromisoformat(m["on"]),
                m.get("merchant_id"),
            )
            if target is None:
                continue
            original = self.events.get(entry.label_id)
            if original is None:
                continue
            data = {k: v for k, v in original.data.items() if k != "unmatched"}
            data.update(
                event_id=entry.label_id + MATCHED_SUFFIX,
                occurred_at=self.clock().isoformat(),
                target_event_id=target,
                matched_from=entry.label_id,
            )
            data["match"] = {**data["match"], "card": {"token": m["card_token"]}}
            outcome = self.ingestor.ingest(data, source=f"match:{entry.source}"[:256])
            matched += outcome.status is AppendStatus.ACCEPTED
            self.sync([data["event_id"]])
        return {"tried": tried, "matched": matched}
