"""Deciding on an event: validate and protect it, store it and count it in the features,
run the pipeline, and answer only once the decision record is durable.

Idempotent by ``event_id``: a retry of an event already decided gets the stored decision
back (and counts nowhere twice); the same id with a different body is a conflict. An event
stored but not decided (a crash or a failure between the two writes, or an event first sent
to ``/v1/events``) is decided on its retry. Shared feature state is asked to count it then:
it knows the events it holds by id, so an event whose update was lost is counted now, with
its features, and one counted before is not counted again. An event counted before has no
features to give back (its vector was not kept), so that decision says
``FEATURES_UNAVAILABLE`` and rules that need features do not hit. A retry that arrives
while the first request is still deciding waits for that decision instead.

When the feature state fails, an API caller still gets a decision within its budget, on
rules alone (``FEATURES_UNAVAILABLE``: the state fails open). A stream worker asks for
``require_features``: the event stays stored, the call raises, and the message comes back
to be decided with its features once the state is back.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from riskloop.credit.inputs import CREDIT_TYPES, application_inputs
from riskloop.domain.events import AppendStatus, StoredEvent
from riskloop.errors import ConflictError, InvalidInput, RiskloopError, StorageError
from riskloop.features import FeatureResult
from riskloop.ledger.ports import DecisionLedger
from riskloop.ledger.records import Decision
from riskloop.pipeline import Pipeline
from riskloop.service.catalog import CatalogService
from riskloop.service.features import FeatureService
from riskloop.service.ingest import CONFLICT_REASON, Ingestor
from riskloop.service.observe import DecisionMetrics
from riskloop.service.screening import SCREENED_TYPES, ScreeningService


@dataclass(frozen=True, slots=True)
class Decided:
    decision: Decision
    replayed: bool  # True: this event was decided before; this is that decision
    latency_us: dict[str, int]  # this request's stages, the durable write included


class DecisionService:
    def __init__(
        self,
        *,
        ingestor: Ingestor,
        features: FeatureService,
        catalog: CatalogService,
        pipeline: Pipeline,
        ledger: DecisionLedger,
        deadline_ms: int = 250,
        metrics: DecisionMetrics | None = None,
        screening: ScreeningService | None = None,
        in_flight_s: float = 2.0,
    ) -> None:
        self.ingestor = ingestor
        self.features = features
        self.catalog = catalog
        self.pipeline = pipeline
        self.ledger = ledger
        self.deadline_ms = deadline_ms
        self.metrics = metrics or DecisionMetrics()
        self.screening = screening
        self.in_flight_s = in_flight_s

    def decide(
        self, payload: object, *, deadline_ms: int | None = None, require_features: bool = False
    ) -> Decided:
        """``require_features``: raise ``StorageError`` rather than decide without features
        when the feature state fails (for a caller that can wait and retry)."""
        try:
            return self._decide(payload, deadline_ms, require_features)
        except (InvalidInput, ConflictError):
            raise  # the caller's mistake, answered 4xx: not an error of the decision path
        except Exception as exc:
            self.metrics.error(type(exc).__name__)
            raise

    def _decide(self, payload: object, deadline_ms: int | None, require_features: bool) -> Decided:
        started = time.perf_counter()
        deadline = started + (deadline_ms or self.deadline_ms) / 1000
        latency: dict[str, int] = {}

        event = self.ingestor.validate(payload)
        stored = self.ingestor.protect(event, source="decision")
        latency["intake"] = int((time.perf_counter() - started) * 1e6)
        screened = None
        clear: dict[str, Any] | None = None
        if self.screening is not None and stored.event_type in SCREENED_TYPES:
            t = time.perf_counter()
            clear = event.model_dump(mode="json", exclude_none=True)
            screened = self.screening.screen_event(stored.event_type, clear)
            latency["screening"] = int((time.perf_counter() - t) * 1e6)
        inputs: dict[str, Any] = {}
        if stored.event_type in CREDIT_TYPES:  # derived in clear: `adult` reads the birth date
            clear = clear or event.model_dump(mode="json", exclude_none=True)
            inputs = application_inputs(clear, on=stored.occurred_at.date())

        t = time.perf_counter()
        outcome, result, features_ok = self.ingestor.append_for_decision(stored)
        if outcome.status is AppendStatus.CONFLICT:
            raise ConflictError("event", stored.event_id, CONFLICT_REASON)
        values: Mapping[str, Any] | None
        if outcome.status is AppendStatus.DUPLICATE:
            previous = self.ledger.for_event(stored.event_id)
            if previous is None:
                waited = time.perf_counter()
                previous = self._in_flight(stored.event_id)
                deadline += time.perf_counter() - waited  # the budget is for deciding
            if previous is not None:
                return Decided(previous, True, {})
            values = self._stored_before(stored, require_features)
        else:
            if require_features and not features_ok and self.ingestor.features is not None:
                raise StorageError(f"feature state unavailable; {stored.event_id} stays stored")
            values = (result.values or {}) if features_ok and result is not None else None
            if features_ok and result is None:
                values = {}  # an event type without features (a dispute is a label)
        latency["store_and_features"] = int((time.perf_counter() - t) * 1e6)
        if inputs and values is not None:
            values = {**values, **inputs}

        decision = self.pipeline.decide(
            self.catalog.playbook(),
            stored,
            values,
            feature_set=self.features.engine.version,
            deadline=deadline,
            started=started,
            latency_us=latency,
            screening=screened,
        )
        t = time.perf_counter()
        try:
            recorded = self.ledger.record(decision)
        except StorageError:
            # Once more: a connection the database dropped fails one transaction and the
            # pool replaces it (pre-ping). Failing here instead would leave the event stored
            # and counted, and its retry could no longer give it these features.
            recorded = self.ledger.record(decision)
        latency["record"] = int((time.perf_counter() - t) * 1e6)
        latency["total"] = int((time.perf_counter() - started) * 1e6)
        if recorded is decision:  # not another process's decision of the same event
            self.metrics.observe(recorded, latency)
        return Decided(recorded, recorded is not decision, latency)

    def _in_flight(self, event_id: str) -> Decision | None:
        """The decision of a request for this event still on its way to the ledger: the
        event was stored by a decision within ``in_flight_s`` and is not decided yet. Wait
        for it rather than decide again: this retry could only decide without the features
        the first request counted, and, recorded first, that would become the decision."""
        existing = self.ingestor.events.get(event_id)
        if existing is None or existing.source != "decision" or existing.ingested_at is None:
            return None
        stored_at = existing.ingested_at
        if stored_at.tzinfo is None:
            stored_at = stored_at.replace(tzinfo=UTC)
        wait = self.in_flight_s - (datetime.now(UTC) - stored_at).total_seconds()
        until, pause = time.monotonic() + min(wait, self.in_flight_s), 0.002
        while time.monotonic() < until:
            time.sleep(pause)
            pause = min(pause * 2, 0.05)
            decision = self.ledger.for_event(event_id)
            if decision is not None:
                return decision
        return None  # a crash between the two writes: this retry decides it

    def _stored_before(
        self, stored: StoredEvent, require_features: bool
    ) -> Mapping[str, Any] | None:
        """The features of an event stored but not decided: None if it was counted before."""
        features = self.features
        found: list[FeatureResult | None] = []

        def keep(event: StoredEvent, result: FeatureResult | None) -> None:
            if event.event_id == stored.event_id:
                found.append(result)

        try:
            if not features.follow_log:
                found.append(features.count_stored(stored))
            else:  # in-process state counts it from the log, now if it had not yet
                features.catch_up(keep)
                if not found:
                    return features.preview(
                        stored.event_id, stored.event_type, stored.data, stored.occurred_at
                    ).values
        except RiskloopError:
            if require_features:
                raise
            return None
        result = found[0]
        return {} if result is None else result.values  # None: a label, nothing to compute

    def get(self, decision_id: str) -> Decision | None:
        return self.ledger.get(decision_id)
