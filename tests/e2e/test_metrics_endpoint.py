"""``GET /metrics`` as an operator's Prometheus reads it: decision latency per stage,
outcomes per policy, rule hits, scores, errors, and the work waiting in the queues."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from riskloop.adapters.files import FileRecord
from riskloop.bootstrap import Riskloop
from riskloop.entrypoints.http import create_app
from riskloop.scoring.port import FeatureValue, Score, Scorer
from tests.support.factories import card_payment
from tests.support.http import AdminClient
from tests.support.metrics import families, value
from tests.support.playbooks import review_large_payments

STAGES = ("intake", "store_and_features", "model", "rules", "policy", "decide", "record", "total")


@pytest.fixture
def client(rl: Riskloop) -> Iterator[TestClient]:
    review_large_payments(rl)  # rule "big" (active) sends 100.00+ to review, policy "cards"
    with AdminClient(create_app(rl, follow_every_s=3600), raise_server_exceptions=False) as c:
        yield c


def _scrape(client: TestClient) -> str:
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    return r.text


def _buckets(text: str, name: str, **labels: str) -> list[tuple[float, float]]:
    """(le, cumulative count) of one histogram series."""
    return sorted(
        (float(s.labels["le"]), s.value)
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == f"{name}_bucket" and labels.items() <= s.labels.items()
    )


def _post(client: TestClient, event: dict[str, Any], status: int = 201) -> dict[str, Any]:
    r = client.post("/v1/decisions", json=event)
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    return body


def test_each_fresh_decision_is_timed_per_stage_and_counted_once(
    client: TestClient, rl: Riskloop
) -> None:
    rl.catalog.save_rule(
        {
            "id": "big_shadow",
            "expression": "event.amount >= 20000",
            "action": "decline",
            "reason": "VERY_LARGE",
            "event_types": ["card_payment"],
            "status": "shadow",
            "author": "ana",
        }
    )
    rl.catalog.refresh(force=True)
    small = card_payment(amount=1_000)
    first = _post(client, small)
    assert first["outcome"] == "approve"
    assert _post(client, card_payment(amount=2_000))["outcome"] == "approve"
    assert _post(client, card_payment(amount=50_000))["outcome"] == "review"
    assert _post(client, small, status=200)["replayed"] is True  # counts nowhere twice

    metrics = _scrape(client)
    assert value(metrics, "riskloop_decision_seconds_count") == 3
    assert _buckets(metrics, "riskloop_decision_seconds")[-1] == (float("inf"), 3)
    assert value(metrics, "riskloop_decision_seconds_sum") > 0
    for stage in STAGES:
        assert value(metrics, f'riskloop_decision_stage_seconds_count{{stage="{stage}"}}') == 3
        counts = [n for _, n in _buckets(metrics, "riskloop_decision_stage_seconds", stage=stage)]
        assert counts == sorted(counts) and counts[-1] == 3
    series = 'riskloop_decisions_total{outcome="%s",policy="cards",event_type="card_payment"}'
    assert value(metrics, series % "approve") == 2
    assert value(metrics, series % "review") == 1
    assert value(metrics, "riskloop_decisions_total") == 3
    assert value(metrics, 'riskloop_rule_hits_total{rule="big",status="active"}') == 1
    assert value(metrics, 'riskloop_rule_hits_total{rule="big_shadow",status="shadow"}') == 1
    assert value(metrics, "riskloop_rule_hits_total") == 2
    champion = f'riskloop_model_score_count{{model="{first["model"]}",role="champion"}}'
    assert value(metrics, champion) == 3
    assert [le for le, _ in _buckets(metrics, "riskloop_model_score")][:2] == [0.05, 0.1]
    assert value(metrics, "riskloop_decision_errors_total") == 0
    assert value(metrics, "riskloop_challenger_failures_total") == 0
    # No event, card or customer ever becomes a label.
    assert small["event_id"] not in metrics and "cus-1" not in metrics


class _Fixed:
    features: Sequence[str] = ()

    def __init__(self, version: str, score: float | None) -> None:
        self.version, self.value = version, score

    def score(self, features: Mapping[str, FeatureValue], *, top_k: int = 4) -> Score:
        if self.value is None:
            raise RuntimeError("model server away")
        return Score(self.value)


class _Models:
    def __init__(self, champion: _Fixed, challenger: _Fixed) -> None:
        self.pair = champion, challenger

    def for_event(self, event_type: str) -> tuple[Scorer | None, Scorer | None]:
        return self.pair


def test_champion_and_challenger_scores_and_challenger_failures_are_counted(
    client: TestClient, rl: Riskloop
) -> None:
    rl.decisions.pipeline.models = _Models(_Fixed("fraud@2", 0.12), _Fixed("fraud@3", 0.97))
    _post(client, card_payment())
    rl.decisions.pipeline.models = _Models(_Fixed("fraud@2", 0.12), _Fixed("fraud@4", None))
    _post(client, card_payment())
    metrics = _scrape(client)
    score = "riskloop_model_score_bucket"
    assert value(metrics, f'{score}{{model="fraud@2",role="champion",le="0.1"}}') == 0
    assert value(metrics, f'{score}{{model="fraud@2",role="champion",le="0.15"}}') == 2
    assert value(metrics, f'{score}{{model="fraud@3",role="challenger",le="0.95"}}') == 0
    assert value(metrics, f'{score}{{model="fraud@3",role="challenger",le="1.0"}}') == 1
    assert value(metrics, 'riskloop_model_score_count{model="fraud@4"}') == 0
    assert value(metrics, "riskloop_challenger_failures_total") == 1
    assert value(metrics, 'riskloop_decision_stage_seconds_count{stage="challenger"}') == 2


def test_a_rule_that_cannot_be_evaluated_is_counted_as_a_rule_error(
    client: TestClient, rl: Riskloop
) -> None:
    rl.catalog.save_rule(
        {
            "id": "foreign_ip",
            "expression": "event.geo.country != 'DE'",
            "action": "review",
            "reason": "FOREIGN",
            "event_types": ["card_payment"],
            "author": "ana",
        }
    )
    rl.catalog.refresh(force=True)
    no_geo = card_payment()
    del no_geo["geo"]
    assert _post(client, no_geo)["outcome"] == "approve"
    metrics = _scrape(client)
    assert value(metrics, 'riskloop_rule_errors_total{rule="foreign_ip"}') == 1
    assert value(metrics, 'riskloop_rule_hits_total{rule="foreign_ip"}') == 0


def test_a_decision_that_fails_is_counted_but_bad_input_is_not(
    client: TestClient, rl: Riskloop
) -> None:
    assert client.post("/v1/decisions", json={"event_type": "card_payment"}).status_code == 422
    event = card_payment()
    assert client.post("/v1/decisions", json={**event, "amount": 1}).status_code == 201
    assert client.post("/v1/decisions", json={**event, "amount": 2}).status_code == 409
    with rl.engine.begin() as conn:  # the decision ledger goes away
        conn.execute(text("DROP TABLE decisions"))
    assert client.post("/v1/decisions", json=card_payment()).status_code >= 500
    metrics = _scrape(client)
    assert value(metrics, "riskloop_decision_errors_total") == 1
    assert value(metrics, "riskloop_decision_seconds_count") == 1  # only the one recorded


def test_queue_gauges_show_the_work_waiting(client: TestClient, rl: Riskloop) -> None:
    before = _scrape(client)
    for name in (
        "riskloop_cases_open",
        "riskloop_tasks_open",
        "riskloop_labels_pending",
        "riskloop_dead_letters",
        "riskloop_task_notifications_undelivered",
    ):
        assert value(before, name) == 0

    _post(client, card_payment(amount=50_000))  # review: a case once the queue syncs
    assert client.post("/v1/cases/sync").json()["opened"] == 1
    label = {"label_id": "u-1", "kind": "customer_report", "event_id": "not-seen-yet"}
    assert client.post("/v1/labels", json=label).status_code == 201
    task = {"kind": "job_failure", "title": "Nightly backfill failed", "actor": "cron"}
    assert client.post("/v1/tasks", json=task).status_code == 201
    rl.ingestor.import_records([FileRecord(1, None, error="not JSON")], source="bad.ndjson")

    after = _scrape(client)
    assert value(after, 'riskloop_cases_open{queue="payments",status="open"}') == 1
    assert value(after, "riskloop_cases_open") == 1
    assert value(after, "riskloop_labels_pending") == 1
    assert value(after, 'riskloop_tasks_open{kind="job_failure",status="open"}') == 1
    assert value(after, "riskloop_task_notifications_undelivered") == 1
    assert value(after, "riskloop_dead_letters") == 1
    assert value(after, "riskloop_metrics_errors_total") == 0


def test_a_failing_queue_read_leaves_its_family_out_and_the_scrape_answers(
    client: TestClient, rl: Riskloop
) -> None:
    _post(client, card_payment())
    with rl.engine.begin() as conn:
        conn.execute(text("DROP TABLE dead_letters"))
    for scrape in (1, 2):
        metrics = _scrape(client)
        assert "riskloop_dead_letters" not in families(metrics)
        failed = 'riskloop_metrics_errors_total{family="riskloop_dead_letters"}'
        assert value(metrics, failed) == scrape
        assert value(metrics, "riskloop_metrics_errors_total") == scrape
        assert {"riskloop_cases_open", "riskloop_tasks_open"} <= families(metrics)
        assert value(metrics, "riskloop_decision_seconds_count") == 1
