"""A served model and batch scoring agree: ``riskloop score`` replaying the same log gives
every live decision's score and reasons exactly (the features come from the same engine)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from riskloop.bootstrap import Riskloop, load_scorer
from riskloop.service.batch_score import score_stream
from riskloop.service.features import iterate_log
from riskloop.training.run import TrainSpec
from tests.support.fraud_world import generate_world


@pytest.mark.parametrize("kind", ["lightgbm", "logistic"])
def test_batch_scores_equal_the_scores_served_live(rl: Riskloop, kind: str) -> None:
    world = generate_world(customers=150, days=40, seed=9)
    history, live = world.events[:-300], world.events[-300:]
    for i in range(0, len(history), 1000):
        rl.ingestor.ingest_batch(history[i : i + 1000])
    spec = TrainSpec(
        cutoff=world.end - timedelta(days=1),
        kind=kind,  # type: ignore[arg-type]
        maturity=timedelta(days=1),
        test_days=8,
        gap_days=1,
    )
    version, _ = rl.models.train(spec, author="ana")
    rl.models.promote("fraud", version.version, alias="champion", author="ana", reason="r")

    served = {}
    for payload in live:
        if payload["event_type"] == "card_payment":
            d = rl.decisions.decide(payload).decision
            served[d.event_id] = (d.score, [c.reason for c in d.contributions], d.model)
        else:
            rl.ingestor.ingest(payload)

    scorer = load_scorer(version, rl.models.registry.artifact(version))
    live_ids = {p["event_id"] for p in live}
    batch = {
        row["event_id"]: row
        for row in score_stream(
            ((e, e.event_id in live_ids) for e in iterate_log(rl.events)),
            rl.features.engine.feature_set,
            scorer,
            "card_payment",
        )
    }
    assert set(batch) == set(served) and len(served) > 200
    for event_id, (score, reasons, model) in served.items():
        row = batch[event_id]
        assert row["score"] == pytest.approx(score, abs=1e-12), event_id
        assert [row[f"reason_{i}"] for i in range(1, 5) if row[f"reason_{i}"]] == reasons
        assert row["model"] == model
