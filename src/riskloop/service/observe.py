"""What the decision path tells operators: per-stage latency, outcomes, rule hits, scores and
errors, counted in process by ``DecisionMetrics``.

The core imports no metrics library; ``DecisionService`` calls ``observe`` once per fresh
decision (a replay counts nowhere twice) and ``entrypoints.http.metrics`` turns a
``snapshot`` into Prometheus families at scrape time. Every label comes from the catalogue or
the code (stage, outcome, policy id, event type, rule id, model version, error class), never
from an event, a card or a customer, so the number of series stays bounded.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from riskloop.ledger.records import Decision

# Seconds. The budget is 250 ms; the first buckets resolve the sub-millisecond stages
# (lists, rules, policy), the last ones a decision that blew its budget.
LATENCY_BUCKETS: tuple[float, ...] = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
)
SCORE_BUCKETS: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(1, 21))

TOTAL = "total"
CHAMPION = "champion"
CHALLENGER = "challenger"
NO_POLICY = "none"


@dataclass(frozen=True, slots=True)
class HistogramSnapshot:
    """``buckets`` are (upper bound, cumulative count), ``inf`` last, as Prometheus wants."""

    buckets: tuple[tuple[float, int], ...]
    sum: float
    count: int


@dataclass(frozen=True, slots=True)
class MetricsSnapshot:
    """A consistent, read-only copy of every counter at one instant."""

    stages: Mapping[str, HistogramSnapshot]
    total: HistogramSnapshot
    scores: Mapping[tuple[str, str], HistogramSnapshot]  # (model, role)
    decisions: Mapping[tuple[str, str, str], int]  # (outcome, policy, event_type)
    rule_hits: Mapping[tuple[str, str], int]  # (rule, status)
    rule_errors: Mapping[str, int]
    errors: Mapping[str, int]


class _Histogram:
    """Fixed buckets: a count per bucket (not cumulative, ``inf`` last), a sum and a count.
    Values are kept in the unit they arrive in (µs for latency), seconds on snapshot."""

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.sum: float = 0

    def add(self, value: float) -> None:
        # bisect_left: a value equal to a bound belongs to that bucket (``le``).
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value

    def snapshot(self, bounds: Sequence[float], per_unit: float = 1.0) -> HistogramSnapshot:
        cumulative, running = [], 0
        for bound, n in zip((*bounds, float("inf")), self.counts, strict=True):
            running += n
            cumulative.append((bound, running))
        return HistogramSnapshot(tuple(cumulative), self.sum / per_unit, running)


_LATENCY_US = tuple(round(b * 1e6) for b in LATENCY_BUCKETS)


class DecisionMetrics:
    """Thread-safe counters and fixed-bucket histograms for the decision path; no I/O.

    >>> from datetime import UTC, datetime
    >>> from riskloop.policy import Outcome
    >>> now = datetime(2026, 11, 1, tzinfo=UTC)
    >>> d = Decision("dec_1", "evt-1", "card_payment", Outcome.APPROVE, (), "model", now, now,
    ...              "cards@3", score=0.12, model="fraud@2")
    >>> metrics = DecisionMetrics()
    >>> metrics.observe(d, {"model": 700, "total": 1_800})
    >>> snap = metrics.snapshot()
    >>> snap.decisions
    mappingproxy({('approve', 'cards', 'card_payment'): 1})
    >>> snap.stages["model"].buckets[3], snap.total.count, snap.total.sum
    ((0.001, 1), 1, 0.0018)
    >>> snap.scores[("fraud@2", "champion")].buckets[2]
    (0.15, 1)
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stages: dict[str, _Histogram] = {}
        self._total = _Histogram(_LATENCY_US)
        self._scores: dict[tuple[str, str], _Histogram] = {}
        self._decisions: dict[tuple[str, str, str], int] = {}
        self._rule_hits: dict[tuple[str, str], int] = {}
        self._rule_errors: dict[str, int] = {}
        self._errors: dict[str, int] = {}

    def observe(self, decision: Decision, latency_us: Mapping[str, int]) -> None:
        """Count one fresh decision; ``latency_us`` is stage -> µs, ``total`` included."""
        policy = decision.policy.partition("@")[0] if decision.policy else NO_POLICY
        key = (decision.outcome.value, policy, decision.event_type)
        # Bucket positions are found before taking the lock, to hold it briefly.
        timed = [(stage, us, bisect_left(_LATENCY_US, us)) for stage, us in latency_us.items()]
        total = latency_us.get(TOTAL)
        challenger = decision.challenger
        with self._lock:
            self._decisions[key] = self._decisions.get(key, 0) + 1
            stages = self._stages
            for stage, us, i in timed:
                h = stages.get(stage)
                if h is None:
                    h = stages[stage] = _Histogram(_LATENCY_US)
                h.counts[i] += 1
                h.sum += us
            if total is not None:
                self._total.add(total)
            if decision.score is not None:
                self._score(decision.model or "unknown", CHAMPION, decision.score)
            if challenger is not None:
                self._score(challenger.model, CHALLENGER, challenger.score)
            for r in decision.rules:
                if r.hit:
                    hit = (r.id, r.status)
                    self._rule_hits[hit] = self._rule_hits.get(hit, 0) + 1
                if r.error:
                    self._rule_errors[r.id] = self._rule_errors.get(r.id, 0) + 1

    def _score(self, model: str, role: str, score: float) -> None:
        h = self._scores.get((model, role))
        if h is None:
            h = self._scores[(model, role)] = _Histogram(SCORE_BUCKETS)
        h.add(score)

    def error(self, kind: str) -> None:
        """Count a decision that raised; ``kind`` is an error class, never a message."""
        with self._lock:
            self._errors[kind] = self._errors.get(kind, 0) + 1

    def snapshot(self) -> MetricsSnapshot:
        with self._lock:
            return MetricsSnapshot(
                stages=MappingProxyType(
                    {s: h.snapshot(LATENCY_BUCKETS, 1e6) for s, h in self._stages.items()}
                ),
                total=self._total.snapshot(LATENCY_BUCKETS, 1e6),
                scores=MappingProxyType(
                    {k: h.snapshot(SCORE_BUCKETS) for k, h in self._scores.items()}
                ),
                decisions=MappingProxyType(dict(self._decisions)),
                rule_hits=MappingProxyType(dict(self._rule_hits)),
                rule_errors=MappingProxyType(dict(self._rule_errors)),
                errors=MappingProxyType(dict(self._errors)),
            )
