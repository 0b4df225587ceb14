"""``GET /metrics`` in the Prometheus text format.

The decision path counts in plain Python (``DecisionService.metrics``, a
``DecisionMetrics``, and ``Pipeline.stats``; the core imports no metrics library); the
collectors here turn those into Prometheus families at scrape time. Queue sizes (review
cases, pending labels, tasks, dead letters, the notification outbox, the bus's outbox) are
read from the records store at scrape time, one aggregate query each: a query that fails is
logged, counted in ``riskloop_metrics_errors_total`` and its family left out, and the scrape
still answers. The families and their labels are listed in ``docs/operations.md``.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Protocol, runtime_checkable

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from riskloop.bootstrap import Riskloop
from riskloop.service.observe import HistogramSnapshot

log = logging.getLogger(__name__)

_LEVEL = {"ok": 0, "warn": 1, "alert": 2}


def _buckets(h: HistogramSnapshot) -> list[tuple[str, float]]:
    return [("+Inf" if math.isinf(le) else repr(le), float(n)) for le, n in h.buckets]


class DecisionCollector(Collector):
    """What this process decided: outcomes, latency, rule hits, scores, fallbacks, errors."""

    def __init__(self, rl: Riskloop) -> None:
        self.rl = rl

    def collect(self) -> Iterator[Metric]:
        snap = self.rl.decisions.metrics.snapshot()
        stats = dict(self.rl.decisions.pipeline.stats)

        outcomes = CounterMetricFamily(
            "riskloop_decisions",
            "Decisions made by this process (replays not counted), by outcome, policy id "
            "and event type",
            labels=["outcome", "policy", "event_type"],
        )
        for (outcome, policy, event_type), n in sorted(snap.decisions.items()):
            outcomes.add_metric([outcome, policy, event_type], n)
        yield outcomes

        total = HistogramMetricFamily(
            "riskloop_decision_seconds",
            "Time from receiving an event to its durable decision record",
        )
        total.add_metric([], _buckets(snap.total), snap.total.sum)
        yield total

        stages = HistogramMetricFamily(
            "riskloop_decision_stage_seconds",
            "Time spent in each stage of a decision (total: the whole request)",
            labels=["stage"],
        )
        for stage, h in sorted(snap.stages.items()):
            stages.add_metric([stage], _buckets(h), h.sum)
        yield stages

        scores = HistogramMetricFamily(
            "riskloop_model_score",
            "Model scores of decisions, champion (the one that decides) and challenger",
            labels=["model", "role"],
        )
        for (model, role), h in sorted(snap.scores.items()):
            scores.add_metric([model, role], _buckets(h), h.sum)
        yield scores

        hits = CounterMetricFamily(
            "riskloop_rule_hits",
            "Rules that hit, by rule id and status (active, shadow)",
            labels=["rule", "status"],
        )
        for (rule, status), n in sorted(snap.rule_hits.items()):
            hits.add_metric([rule, status], n)
        yield hits

        rule_errors = CounterMetricFamily(
            "riskloop_rule_errors",
            "Rule evaluations that failed (the rule did not hit), by rule id",
            labels=["rule"],
        )
        for rule, n in sorted(snap.rule_errors.items()):
            rule_errors.add_metric([rule], n)
        yield rule_errors

        errors = CounterMetricFamily(
            "riskloop_decision_errors",
            "Decisions that raised instead of answering (bad input excluded), by error class",
            labels=["kind"],
        )
        for kind, n in sorted(snap.errors.items()):
            errors.add_metric([kind], n)
        yield errors

        fallbacks = CounterMetricFamily(
            "riskloop_decision_fallbacks",
            "Decisions that fell back (features or model unavailable, deadline passed)",
            labels=["reason"],
        )
        for key, n in sorted(stats.items()):
            kind, _, name = key.partition(":")
            if kind == "fallback":
                fallbacks.add_metric([name], n)
        yield fallbacks

        challenger = CounterMetricFamily(
            "riskloop_challenger_failures",
            "Challenger models that failed to score (the decision was not affected)",
        )
        challenger.add_metric([], stats.get("challenger_failures", 0))
        yield challenger

        failures = CounterMetricFamily(
            "riskloop_feature_state_failures",
            "Events whose feature update failed (failed open; see features rebuild)",
        )
        failures.add_metric([], self.rl.features.failures)
        yield failures


@runtime_checkable
class _TaskCounts(Protocol):
    def counts(self) -> Mapping[str, Mapping[str, int]]: ...

    def outbox_backlog(self) -> int: ...


class QueueCollector(Collector):
    """Work waiting in the records store, read at scrape time; a failed read skips its
    family and is counted, never failing the scrape."""

    def __init__(self, rl: Riskloop) -> None:
        self.rl = rl
        self._lock = threading.Lock()
        self._errors: dict[str, int] = {}

    def _read(self, family: str, read: Callable[[], Metric]) -> Metric | None:
        try:
            return read()
        except Exception as exc:  # a scrape answers whatever the store does
            log.warning("metrics: reading %s failed: %s", family, type(exc).__name__)
            with self._lock:
                self._errors[family] = self._errors.get(family, 0) + 1
            return None

    def _cases(self) -> Metric:
        family = GaugeMetricFamily(
            "riskloop_cases_open",
            "Unresolved review cases, by queue and status",
            labels=["queue", "status"],
        )
        for queue, by_status in sorted(self.rl.cases.store.counts().items()):
            for status, n in sorted(by_status.items()):
                family.add_metric([queue, status], n)
        return family

    def _labels(self) -> Metric:
        family = GaugeMetricFamily(
            "riskloop_labels_pending",
            "Labels whose event is not known yet (an unmatched chargeback, a report)",
        )
        family.add_metric([], self.rl.labels.index.counts()["pending"])
        return family

    def _tasks(self, store: _TaskCounts) -> Metric:
        family = GaugeMetricFamily(
            "riskloop_tasks_open",
            "Open and in-progress tasks, by kind and status",
            labels=["kind", "status"],
        )
        for kind, by_status in sorted(store.counts().items()):
            for status, n in sorted(by_status.items()):
                family.add_metric([kind, status], n)
        return family

    def _outbox(self, store: _TaskCounts) -> Metric:
        family = GaugeMetricFamily(
            "riskloop_task_notifications_undelivered",
            "Task notifications not delivered to the webhook yet (given up ones included)",
        )
        family.add_metric([], store.outbox_backlog())
        return family

    def _outbox_depth(self) -> Metric:
        assert self.rl.outbox is not None
        family = GaugeMetricFamily(
            "riskloop_outbox_depth",
            "Messages (decisions, alerts) stored and not yet published to the bus by the relay",
        )
        family.add_metric([], self.rl.outbox.depth())
        return family

    def _dead_letters(self) -> Metric:
        family = GaugeMetricFamily(
            "riskloop_dead_letters", "Rejected input kept as dead letters, all time"
        )
        family.add_metric([], self.rl.dead_letters.count())
        return family

    def _monitor_status(self) -> Metric:
        family = GaugeMetricFamily(
            "riskloop_monitor_status",
            "The newest monitoring report per check and event type: 0 ok, 1 warn, 2 alert",
            labels=["kind", "scope"],
        )
        seen: set[tuple[str, str]] = set()
        for r in self.rl.monitoring.reports(limit=200):  # newest first
            if (r.kind, r.scope) not in seen:
                seen.add((r.kind, r.scope))
                family.add_metric([r.kind, r.scope], _LEVEL.get(r.status, 0))
        return family

    def _drift(self) -> Metric:
        family = GaugeMetricFamily(
            "riskloop_drift_psi",
            "PSI of each feature and of the score (feature=score) in the newest drift report "
            "of each event type, current window against reference",
            labels=["event_type", "feature"],
        )
        seen: set[str] = set()
        for r in self.rl.monitoring.reports(kind="drift", limit=50):
            if r.scope in seen:
                continue
            seen.add(r.scope)
            for f in [*r.body.get("features", []), {**r.body.get("score", {}), "feature": "score"}]:
                if f.get("psi") is not None:
                    family.add_metric([r.scope, str(f["feature"])], float(f["psi"]))
        return family

    def _feature_backlog(self) -> Metric:
        family = GaugeMetricFamily(
            "riskloop_feature_backlog",
            "Events stored while the shared feature state failed, not yet counted in it",
        )
        family.add_metric([], self.rl.features.missed_count())
        return family

    def _entity_index(self) -> Metric:
        family = GaugeMetricFamily(
            "riskloop_entity_index_behind",
            "Log positions not yet in the entity index (matched in their JSON meanwhile)",
        )
        family.add_metric([], self.rl.entities.store.behind())
        return family

    def _canaries(self) -> Metric:
        family = GaugeMetricFamily(
            "riskloop_canary_share",
            "Share of an event type's entities a running canary's candidate decides",
            labels=["event_type", "canary", "candidate"],
        )
        for c in self.rl.canaries.all("running"):
            family.add_metric([c.event_type, c.canary_id, c.candidate], c.share)
        return family

    def collect(self) -> Iterator[Metric]:
        reads: list[tuple[str, Callable[[], Metric]]] = [
            ("riskloop_cases_open", self._cases),
            ("riskloop_labels_pending", self._labels),
            ("riskloop_dead_letters", self._dead_letters),
            ("riskloop_monitor_status", self._monitor_status),
            ("riskloop_drift_psi", self._drift),
            ("riskloop_canary_share", self._canaries),
            ("riskloop_entity_index_behind", self._entity_index),
        ]
        if self.rl.outbox is not None:  # publishing on (RISKLOOP_BUS=nats)
            reads.append(("riskloop_outbox_depth", self._outbox_depth))
        if not self.rl.features.follow_log:  # shared (Redis) feature state
            reads.append(("riskloop_feature_backlog", self._feature_backlog))
        store = self.rl.tasks.store
        if isinstance(store, _TaskCounts):  # an in-memory task store has no counts
            reads += [
                ("riskloop_tasks_open", lambda: self._tasks(store)),
                ("riskloop_task_notifications_undelivered", lambda: self._outbox(store)),
            ]
        for name, read in reads:
            family = self._read(name, read)
            if family is not None:
                yield family
        errors = CounterMetricFamily(
            "riskloop_metrics_errors",
            "Scrape-time reads that failed (that family was left out of the scrape)",
            labels=["family"],
        )
        with self._lock:
            counted = sorted(self._errors.items())
        for name, n in counted:
            errors.add_metric([name], n)
        yield errors


def router(rl: Riskloop) -> APIRouter:
    registry = CollectorRegistry()
    registry.register(DecisionCollector(rl))
    registry.register(QueueCollector(rl))
    api = APIRouter(tags=["health"])

    @api.get("/metrics")
    async def metrics() -> Response:
        # Scrape-time reads hit the database: off the event loop.
        body = await run_in_threadpool(generate_latest, registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return api
