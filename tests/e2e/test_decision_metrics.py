"""Fallbacks are counted where operators look: ``/metrics``."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from riskloop.bootstrap import Riskloop
from riskloop.entrypoints.http import create_app
from riskloop.scoring.port import FeatureValue, FixedScorer, Score
from tests.support.factories import card_payment
from tests.support.http import AdminClient
from tests.support.metrics import value


class BrokenModel:
    version = "broken@1"
    features: Sequence[str] = ()

    def score(self, features: Mapping[str, FeatureValue], *, top_k: int = 4) -> Score:
        raise RuntimeError("model server away")


def _metric(text: str, name: str) -> float:
    return value(text, name)  # summed over labels not named (policy, event type...)


def test_a_failing_model_falls_back_and_is_counted(rl: Riskloop) -> None:
    rl.decisions.pipeline.models = FixedScorer(BrokenModel())
    with AdminClient(create_app(rl)) as client:
        before = client.get("/metrics").text
        assert 'riskloop_decision_fallbacks_total{reason="MODEL_UNAVAILABLE"}' not in before
        r = client.post("/v1/decisions", json=card_payment())
        assert r.status_code == 201
        body = r.json()
        assert body["fallbacks"] == ["MODEL_UNAVAILABLE"]
        assert body["reasons"][-1] == "MODEL_UNAVAILABLE"
        assert body["score"] is None and body["model"] is None
        after = client.get("/metrics")
        assert after.headers["content-type"].startswith("text/plain")
        name = 'riskloop_decision_fallbacks_total{reason="MODEL_UNAVAILABLE"}'
        assert _metric(after.text, name) == 1.0
        assert _metric(after.text, 'riskloop_decisions_total{outcome="approve"}') == 1.0


def test_a_spent_deadline_skips_the_model_and_rules_still_decide(
    rl: Riskloop, monkeypatch: pytest.MonkeyPatch
) -> None:
    rl.catalog.save_rule(
        {
            "id": "big",
            "expression": "event.amount > 100000",
            "reason": "BIG_AMOUNT",
            "action": "review",
            "event_types": ["card_payment"],
            "author": "test",
        }
    )
    rl.catalog.save_policy({"id": "cards", "event_types": ["card_payment"], "author": "test"})
    observe = rl.features.observe

    def slow_observe(stored: Any) -> Any:  # a feature store that takes 5 ms
        until = time.perf_counter() + 0.005
        while time.perf_counter() < until:
            pass
        return observe(stored)

    monkeypatch.setattr(rl.features, "observe", slow_observe)
    with AdminClient(create_app(rl)) as client:
        r = client.post("/v1/decisions?deadline_ms=1", json=card_payment(amount=250000))
        assert r.status_code == 201
        body = r.json()
        assert body["outcome"] == "review"  # the rule still decided
        assert body["reasons"] == ["BIG_AMOUNT", "DEADLINE_EXCEEDED", "MODEL_UNAVAILABLE"]
        assert body["score"] is None
        assert client.post("/v1/decisions?deadline_ms=0", json=card_payment()).status_code == 422
        metrics = client.get("/metrics").text
        name = 'riskloop_decision_fallbacks_total{reason="DEADLINE_EXCEEDED"}'
        assert _metric(metrics, name) == 1.0
