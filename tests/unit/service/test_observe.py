"""DecisionMetrics: what each decision adds to the counters and histograms operators read."""

from __future__ import annotations

import sys
import threading
from dataclasses import FrozenInstanceError, replace
from datetime import UTC, datetime

import pytest

from riskloop.ledger.records import ChallengerScore, Decision, RuleResult
from riskloop.policy import Outcome
from riskloop.service.observe import (
    LATENCY_BUCKETS,
    SCORE_BUCKETS,
    DecisionMetrics,
    HistogramSnapshot,
)

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)


def _decision(**overrides: object) -> Decision:
    d = Decision(
        decision_id="dec_1",
        event_id="evt-1",
        event_type="card_payment",
        outcome=Outcome.APPROVE,
        reasons=(),
        decided_by="model",
        decided_at=NOW,
        occurred_at=NOW,
        policy="cards@4",
        score=0.3,
        model="fraud@2",
    )
    return replace(d, **overrides)  # type: ignore[arg-type]


def _rule(
    rule: str, *, status: str = "active", hit: bool = True, error: str | None = None
) -> RuleResult:
    return RuleResult(rule, 1, status, "review", "R", hit, error)


def _count_in(h: HistogramSnapshot, le: float) -> int:
    """Observations in the bucket ending at ``le`` alone (not cumulative)."""
    bounds = [b for b, _ in h.buckets]
    i = bounds.index(le)
    return h.buckets[i][1] - (h.buckets[i - 1][1] if i else 0)


def test_latency_lands_in_the_first_bucket_at_or_above_it() -> None:
    metrics = DecisionMetrics()
    metrics.observe(_decision(), {"model": 1_000, "rules": 1_001, "lists": 40, "total": 900_000})
    snap = metrics.snapshot()
    assert _count_in(snap.stages["model"], 0.001) == 1  # on the bound: le includes it
    assert _count_in(snap.stages["rules"], 0.0025) == 1
    assert _count_in(snap.stages["lists"], 0.0001) == 1
    assert _count_in(snap.stages["total"], float("inf")) == 1  # past the last bound
    assert snap.total.buckets[-2] == (0.5, 0) and snap.total.buckets[-1] == (float("inf"), 1)
    assert [b for b, _ in snap.total.buckets] == [*LATENCY_BUCKETS, float("inf")]
    assert snap.stages["model"].sum == pytest.approx(0.001)
    assert snap.total.sum == pytest.approx(0.9)


def test_histogram_buckets_are_cumulative_and_end_with_the_count() -> None:
    metrics = DecisionMetrics()
    for us in (50, 300, 300, 20_000, 2_000_000):
        metrics.observe(_decision(), {"total": us})
    total = metrics.snapshot().total
    counts = [n for _, n in total.buckets]
    assert counts == sorted(counts)
    assert total.count == counts[-1] == 5
    assert dict(total.buckets)[0.0005] == 3 and dict(total.buckets)[0.025] == 4


def test_scores_are_kept_per_model_and_role() -> None:
    metrics = DecisionMetrics()
    challenger = ChallengerScore("fraud@3", 0.96)
    metrics.observe(_decision(score=0.05, challenger=challenger), {})
    metrics.observe(_decision(score=0.051), {})
    metrics.observe(_decision(score=None, model=None), {})  # model unavailable: no score
    scores = metrics.snapshot().scores
    assert set(scores) == {("fraud@2", "champion"), ("fraud@3", "challenger")}
    champion = scores[("fraud@2", "champion")]
    assert champion.count == 2
    assert _count_in(champion, 0.05) == 1 and _count_in(champion, 0.1) == 1
    assert _count_in(scores[("fraud@3", "challenger")], 1.0) == 1
    assert [b for b, _ in champion.buckets] == [*SCORE_BUCKETS, float("inf")]
    assert SCORE_BUCKETS[0] == 0.05 and SCORE_BUCKETS[-1] == 1.0 and len(SCORE_BUCKETS) == 20


def test_outcomes_are_counted_by_outcome_policy_id_and_event_type() -> None:
    metrics = DecisionMetrics()
    metrics.observe(_decision(), {})
    metrics.observe(_decision(policy="cards@5"), {})  # a new policy version: same series
    metrics.observe(_decision(outcome=Outcome.DECLINE), {})
    metrics.observe(_decision(event_type="transfer", policy=None), {})
    assert dict(metrics.snapshot().decisions) == {
        ("approve", "cards", "card_payment"): 2,
        ("decline", "cards", "card_payment"): 1,
        ("approve", "none", "transfer"): 1,
    }


def test_rule_hits_count_by_rule_and_status_and_errors_by_rule() -> None:
    metrics = DecisionMetrics()
    rules = (
        _rule("big"),
        _rule("big_shadow", status="shadow"),
        _rule("quiet_shadow", status="shadow", hit=False),  # recorded, not a hit
        _rule("nogeo", hit=False, error="event.geo is absent"),
    )
    metrics.observe(_decision(rules=rules), {})
    metrics.observe(_decision(rules=rules[:1]), {})
    snap = metrics.snapshot()
    assert dict(snap.rule_hits) == {("big", "active"): 2, ("big_shadow", "shadow"): 1}
    assert dict(snap.rule_errors) == {"nogeo": 1}


def test_errors_are_counted_by_kind() -> None:
    metrics = DecisionMetrics()
    metrics.error("StorageError")
    metrics.error("StorageError")
    metrics.error("RuntimeError")
    assert dict(metrics.snapshot().errors) == {"StorageError": 2, "RuntimeError": 1}


def test_observers_on_many_threads_lose_nothing() -> None:
    metrics = DecisionMetrics()
    threads, per_thread = 8, 2_000
    latency = {"model": 700, "rules": 40, "total": 1_500}
    decision = _decision(rules=(_rule("big"),))
    start = threading.Barrier(threads)

    def work() -> None:
        start.wait()
        for _ in range(per_thread):
            metrics.observe(decision, latency)
            metrics.error("StorageError")

    pool = [threading.Thread(target=work) for _ in range(threads)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, mid-update if the lock let them
    try:
        for t in pool:
            t.start()
        for t in pool:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    n = threads * per_thread
    snap = metrics.snapshot()
    assert snap.total.count == snap.stages["model"].count == n
    assert snap.stages["rules"].buckets[-1][1] == n
    assert snap.total.sum == pytest.approx(n * 0.0015)
    assert snap.decisions[("approve", "cards", "card_payment")] == n
    assert snap.rule_hits[("big", "active")] == n
    assert snap.errors["StorageError"] == n
    assert snap.scores[("fraud@2", "champion")].count == n


def test_a_snapshot_is_a_frozen_copy() -> None:
    metrics = DecisionMetrics()
    metrics.observe(_decision(rules=(_rule("big"),)), {"total": 1_000})
    snap = metrics.snapshot()
    metrics.observe(_decision(rules=(_rule("big"),)), {"total": 1_000, "model": 10})
    metrics.error("StorageError")
    assert snap.total.count == 1 and "model" not in snap.stages
    assert snap.decisions[("approve", "cards", "card_payment")] == 1
    assert snap.rule_hits[("big", "active")] == 1 and not snap.errors
    with pytest.raises(TypeError):
        snap.decisions[("approve", "cards", "card_payment")] = 5  # type: ignore[index]
    with pytest.raises(TypeError):
        snap.stages["model"] = snap.total  # type: ignore[index]
    with pytest.raises(FrozenInstanceError):
        snap.total.count = 7  # type: ignore[misc]
    assert metrics.snapshot().total.count == 2
