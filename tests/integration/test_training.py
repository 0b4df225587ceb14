"""Training on a world with three fraud patterns: the model learns what rules miss, it is
measured on a later window, and no label from after the cut-off leaks into what it learns."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import yaml

from riskloop.domain.events import StoredEvent
from riskloop.features import FeatureSet
from riskloop.features.engine import to_ms
from riskloop.intake import EVENT_TYPES
from riskloop.rules.model import rule_from_dict
from riskloop.training.baseline import rule_flags
from riskloop.training.dataset import TrainingSet, build_training_set
from riskloop.training.fit import fit
from riskloop.training.metrics import at_rates, card_precision_at_k, evaluate, evaluate_flags
from riskloop.training.run import TrainSpec, train
from riskloop.training.split import time_split
from tests.support.fraud_world import World, generate_world

PLAYBOOK = Path(__file__).parents[2] / "examples" / "playbook.yaml"


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(customers=500, days=60, seed=11)


@pytest.fixture(scope="module")
def stream(world: World, tmp_path_factory: pytest.TempPathFactory) -> list[StoredEvent]:
    """The world as the vault stores it (PANs tokenised), without a database round trip."""
    from riskloop.bootstrap import build
    from riskloop.config import Settings

    data = tmp_path_factory.mktemp("train")
    rl = build(Settings.from_env({"RISKLOOP_DATA_DIR": str(data)}))
    try:
        stored = []
        for i, payload in enumerate(world.events, start=1):
            e = rl.ingestor.protect_only(payload)
            stored.append(replace(e, seq=i))
        return stored
    finally:
        rl.close()


@pytest.fixture(scope="module")
def fs() -> FeatureSet:
    from riskloop.features import load_feature_set

    return load_feature_set(None)


@pytest.fixture(scope="module")
def dataset(world: World, stream: list[StoredEvent], fs: FeatureSet) -> TrainingSet:
    return build_training_set(
        stream,
        fs,
        event_type="card_payment",
        cutoff=world.end + timedelta(days=14),
        maturity=timedelta(days=14),
        keep_events=True,
    )


def test_the_model_beats_the_rules_on_a_later_window(
    world: World, dataset: TrainingSet, fs: FeatureSet
) -> None:
    split = time_split(dataset.occurred_ms, dataset.y, test_days=14, gap_days=3)
    train_set, test = dataset.subset(split.train), dataset.subset(split.test)
    assert train_set.occurred_ms.max() < test.occurred_ms.min() - 3 * 86_400_000 + 1
    model = fit("lightgbm", train_set.x, train_set.y, dataset.features, seed=7)
    scores = model.predict(test.x)

    rules = [
        rule_from_dict(r, known_types=EVENT_TYPES)
        for r in yaml.safe_load(PLAYBOOK.read_text())["rules"]
    ]
    flags = rule_flags(rules, test, fs)
    baseline = evaluate_flags(flags, test)
    assert 0 < baseline["flagged"] < len(test)

    # Same number of alerts as the rules raise: the model catches more fraud and more money.
    n = baseline["flagged"]
    top = np.argsort(-scores, kind="stable")[:n]
    caught = int(test.y[top].sum())
    assert caught > 1.5 * baseline["recall"] * test.positives
    assert test.amount[top][test.y[top] == 1].sum() > baseline["fraud_amount_caught"]

    # Each pattern is learnt, including the one only delayed chargebacks reveal.
    found = {world.fraud.get(test.event_ids[i]) for i in top if test.y[i]}
    assert {"compromised_merchant", "account_takeover", "card_testing"} <= found

    figures = evaluate(scores, test)
    assert figures["roc_auc"] > 0.9
    assert figures["average_precision"] > 0.4
    assert figures["recall_at_fpr"]["0.01"] > 0.5
    assert set(figures["segments"]) == {"channel", "country", "amount_band"}


def test_labels_after_the_cutoff_do_not_exist_for_training(
    world: World, stream: list[StoredEvent], fs: FeatureSet
) -> None:
    cutoff = world.end - timedelta(days=20)
    before = build_training_set(
        stream, fs, event_type="card_payment", cutoff=cutoff, maturity=timedelta(days=3)
    )
    # Every label used arrived by the cut-off, and every event is old enough.
    assert (before.label_arrived_ms[before.label_arrived_ms >= 0] <= _ms(cutoff)).all()
    assert before.occurred_ms.max() <= _ms(cutoff - timedelta(days=3))
    # Fraud that was charged back only after the cut-off is still "good" in this set...
    later = {
        e.data["original_event_id"]
        for e in stream
        if e.event_type == "dispute" and e.occurred_at > cutoff
    }
    index = {e: i for i, e in enumerate(before.event_ids)}
    late_rows = [index[e] for e in later if e in index]
    assert late_rows and not before.y[late_rows].any()
    # ...and removing everything that happened after the cut-off changes nothing at all.
    past = [e for e in stream if e.occurred_at <= cutoff]
    again = build_training_set(
        past, fs, event_type="card_payment", cutoff=cutoff, maturity=timedelta(days=3)
    )
    assert again.snapshot_hash() == before.snapshot_hash()


def test_a_set_built_with_future_labels_would_be_caught(
    world: World, stream: list[StoredEvent], fs: FeatureSet
) -> None:
    """The leakage check above can fail: labelled as known at the end of the stream, the
    same rows carry labels that arrived after the earlier cut-off."""
    cutoff = world.end - timedelta(days=20)
    honest = build_training_set(
        stream, fs, event_type="card_payment", cutoff=cutoff, maturity=timedelta(days=3)
    )
    leaky = build_training_set(
        stream,
        fs,
        event_type="card_payment",
        cutoff=world.end + timedelta(days=30),
        maturity=timedelta(days=53),  # the same rows: events up to 23 days before the end
    )
    assert leaky.event_ids == honest.event_ids
    assert (leaky.label_arrived_ms > _ms(cutoff)).any()
    assert leaky.positives > honest.positives


def test_training_is_deterministic_and_records_its_lineage(
    world: World, stream: list[StoredEvent], fs: FeatureSet
) -> None:
    spec = TrainSpec(
        cutoff=world.end + timedelta(days=14),
        maturity=timedelta(days=14),
        test_days=14,
        gap_days=3,
    )
    first, second = train(stream, fs, spec), train(stream, fs, spec)
    assert first.model.artifact == second.model.artifact
    assert first.metrics == second.metrics
    lineage = first.lineage
    assert lineage["data_snapshot"] == second.lineage["data_snapshot"]
    assert lineage["feature_set"] == fs.version_id
    assert lineage["code"]["lightgbm"] and lineage["seed"] == 7
    baseline = first.metrics["baseline"]["test"]
    assert first.metrics["test"]["average_precision"] > baseline["average_precision"]


def test_card_precision_counts_each_card_once_and_skips_cards_already_caught() -> None:
    day = 86_400_000
    ts = _tiny(
        cards=["a", "a", "b", "c", "a", "d"],
        days=[0, 0, 0, 0, 1, 1],
        y=[1, 1, 0, 1, 1, 0],
    )
    scores = np.array([0.9, 0.8, 0.7, 0.1, 0.9, 0.2])
    # Day 0, k=2: cards a (fraud) and b (good) -> 0.5. Day 1: a was caught on day 0, so
    # only d remains -> 0.0. Mean 0.25.
    assert card_precision_at_k(scores, ts, k=2) == 0.25
    assert ts.occurred_ms[4] == day
    rates = at_rates(scores, ts, rates=(0.5,))
    assert rates[0]["flagged"] == 3 and rates[0]["precision"] == 1.0  # 0.9, 0.9, 0.8: all fraud


def _tiny(cards: list[str], days: list[int], y: list[int]) -> TrainingSet:
    n = len(cards)
    return TrainingSet(
        event_type="card_payment",
        features=["f"],
        feature_set="t@1",
        cutoff=datetime(2026, 1, 1, tzinfo=UTC),
        maturity=timedelta(0),
        x=np.zeros((n, 1)),
        y=np.array(y, dtype=np.int8),
        event_ids=[f"e{i}" for i in range(n)],
        occurred_ms=np.array([d * 86_400_000 for d in days], dtype=np.int64),
        amount=np.full(n, 1000.0),
        card=cards,
        channel=["cnp"] * n,
        country=["DE"] * n,
        label_arrived_ms=np.full(n, -1, dtype=np.int64),
    )


def _ms(moment: datetime) -> int:
    return to_ms(moment)
