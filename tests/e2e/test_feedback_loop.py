"""The feedback loop over HTTP and the CLI: decisions → review cases → analyst verdicts →
labels → the label-rate features of the next decision and the next training set."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from riskloop.bootstrap import Riskloop
from riskloop.config import Settings
from riskloop.entrypoints.cli import app as cli
from riskloop.entrypoints.http import create_app
from riskloop.service.features import iterate_log
from riskloop.training.dataset import build_training_set
from tests.support.http import AdminClient
from tests.support.playbooks import REVIEW_LARGE, review_large_payments
from tests.unit.factories import VISA_PAN, card_payment

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


@pytest.fixture
def client(rl: Riskloop) -> Iterator[TestClient]:
    with AdminClient(create_app(rl, follow_every_s=3600)) as c:
        assert c.post("/v1/rules", json=REVIEW_LARGE).status_code == 201
        policy = {"id": "cards", "event_types": ["card_payment"], "author": "ana"}
        assert c.post("/v1/policies", json=policy).status_code == 201
        yield c


def test_decisions_to_cases_to_labels_to_features_and_training(
    client: TestClient, rl: Riskloop
) -> None:
    # A merchant with ten ordinary payments and two large ones that go to review.
    for i in range(10):
        pay = card_payment(event_id=f"ok-{i}", occurred_at=_at(i), amount=1_000)
        assert client.post("/v1/decisions", json=pay).json()["outcome"] == "approve"
    for i in range(2):
        big = card_payment(event_id=f"big-{i}", occurred_at=_at(20 + i), amount=50_000)
        assert client.post("/v1/decisions", json=big).json()["outcome"] == "review"
    assert client.post("/v1/cases/sync").json()["opened"] == 1
    queue = client.get("/v1/cases", params={"status": "open"}).json()["cases"]
    assert len(queue) == 1 and queue[0]["decisions"] == 2
    case_id = queue[0]["case_id"]
    page = client.get(f"/v1/cases/{case_id}").json()
    assert [i["decision"]["reasons"] for i in page["items"]] == [["LARGE_AMOUNT"]] * 2
    assert "merchant_fraud_rate_7d" in page["items"][0]["decision"]["features"]

    got = client.post("/v1/cases/next", json={"analyst": "ana"}).json()
    assert (got["case_id"], got["status"]) == (case_id, "in_review")
    taken = client.post(f"/v1/cases/{case_id}/claim", json={"analyst": "bob"})
    assert taken.status_code == 409
    r = client.post(
        f"/v1/cases/{case_id}/notes", json={"author": "ana", "text": "cardholder denies"}
    )
    assert r.status_code == 201
    done = client.post(
        f"/v1/cases/{case_id}/resolve",
        json={"actor": "ana", "resolution": "fraud", "typology": "card not present fraud"},
    )
    assert done.status_code == 200 and done.json()["status"] == "resolved"

    labels = client.get("/v1/labels", params={"kind": "analyst"}).json()["labels"]
    assert sorted(x["event_id"] for x in labels) == ["big-0", "big-1"]
    assert all(x["fraud"] and x["case_id"] == case_id for x in labels)

    # The next payment at the merchant sees 2 of its 12 earlier payments labelled fraud.
    nxt = card_payment(event_id="next", occurred_at=_at(30), amount=1_000)
    decided = client.post("/v1/decisions", json=nxt).json()
    assert decided["features"]["merchant_fraud_rate_7d"] == pytest.approx(2 / 12)

    # And the next training set learns from the analyst's verdicts.
    ts = build_training_set(
        iterate_log(rl.events),
        rl.features.engine.feature_set,
        event_type="card_payment",
        cutoff=datetime.now(UTC) + timedelta(minutes=1),
        maturity=timedelta(0),
    )
    y = dict(zip(ts.event_ids, ts.y.tolist(), strict=True))
    assert (y["big-0"], y["big-1"], y["ok-3"]) == (1, 1, 0)
    before = build_training_set(
        iterate_log(rl.events),
        rl.features.engine.feature_set,
        event_type="card_payment",
        cutoff=T0 + timedelta(hours=1),
        maturity=timedelta(0),
    )
    assert int(before.y.sum()) == 0  # at a cut-off before the verdict the label did not exist

    sar = client.get(f"/v1/cases/{case_id}/sar", params={"actor": "cora", "format": "md"})
    assert sar.status_code == 200 and sar.headers["content-type"].startswith("text/markdown")
    assert "DRAFT" in sar.text and "cardholder denies" in sar.text
    draft = client.get(f"/v1/cases/{case_id}/sar", params={"actor": "cora"}).json()
    assert draft["status"] == "draft" and draft["typology"] == "card not present fraud"


def test_labels_over_http_idempotent_pending_and_errors(client: TestClient) -> None:
    pay = card_payment(event_id="p-1", occurred_at=_at(0), amount=7_700)
    client.post("/v1/events", json=pay)
    cb = {
        "label_id": "cb-1",
        "kind": "chargeback",
        "event_id": "p-1",
        "network": "visa",
        "reason_code": "10.4",
        "reported_at": _at(60 * 24 * 20),
    }
    first = client.post("/v1/labels", json=cb)
    again = client.post("/v1/labels", json=cb)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["status"] == "duplicate"
    assert client.post("/v1/labels", json={**cb, "reason_code": "13.1"}).status_code == 409
    batch = {
        "labels": [
            {"label_id": "u-1", "kind": "customer_report", "event_id": "nope"},
            {
                "label_id": "m-1",
                "kind": "chargeback",
                "network": "visa",
                "reason_code": "10.4",
                "match": {
                    "card": {"pan": VISA_PAN},
                    "amount": 7_700,
                    "currency": "EUR",
                    "on": "2026-11-02",
                },
            },
        ]
    }
    got = client.post("/v1/labels", json=batch).json()
    assert (got["accepted"], got["pending"]) == (2, 1)
    assert got["results"][1]["event_id"] == "p-1"
    pending = client.get("/v1/labels/pending").json()
    assert pending["pending"] == 1 and pending["labels"][0]["label_id"] == "u-1"
    view = client.get("/v1/events/p-1/labels").json()
    assert view["effective"]["label_id"] == "m-1" and len(view["labels"]) == 2
    bad = client.post("/v1/labels", json={"label_id": "x", "kind": "analyst", "event_id": "p-1"})
    assert bad.status_code == 422 and bad.json()["error"]["errors"][0]["field"] == "fraud"
    bad = client.post("/v1/labels", json={"labels": [{"kind": "analyst"}]})
    assert (
        bad.status_code == 422 and bad.json()["error"]["errors"][0]["field"] == "labels[0].label_id"
    )
    for body in (b"[", b"[]", b'"x"', b'{"labels": 5}'):
        assert client.post("/v1/labels", content=body).status_code == 422
    assert VISA_PAN not in json.dumps(client.get("/v1/labels").json())


def test_case_endpoints_refuse_bad_input_with_the_field(client: TestClient) -> None:
    client.post("/v1/decisions", json=card_payment(event_id="b", amount=50_000))
    client.post("/v1/cases/sync")
    case_id = client.get("/v1/cases").json()["cases"][0]["case_id"]
    for path, body, field in (
        (f"/v1/cases/{case_id}/claim", {}, "analyst"),
        (f"/v1/cases/{case_id}/claim", {"analyst": "a", "extra": 1}, "extra"),
        (f"/v1/cases/{case_id}/resolve", {"actor": "a", "resolution": "maybe"}, "resolution"),
        (f"/v1/cases/{case_id}/notes", {"author": "a", "text": ""}, "text"),
        ("/v1/cases/bulk", {"op": "nuke", "case_ids": [case_id], "actor": "a"}, "op"),
        (
            "/v1/cases",
            {"entity_type": "planet", "entity_key": "x", "queue": "q", "actor": "a"},
            "entity_type",
        ),
    ):
        r = client.post(path, json=body)
        assert r.status_code == 422, (path, r.text)
        assert r.json()["error"]["errors"][0]["field"].startswith(field), r.json()
    assert client.get("/v1/cases/case_missing").status_code == 404
    assert client.post("/v1/cases/case_missing/claim", json={"analyst": "a"}).status_code == 404
    r = client.post(f"/v1/cases/{case_id}/resolve", json={"actor": "a", "resolution": "fraud"})
    assert r.status_code == 409  # not claimed
    assert client.get(f"/v1/cases/{case_id}/sar").status_code == 422  # who prepares it?


def test_cli_imports_labels_and_works_the_queue(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rl: Riskloop
) -> None:
    monkeypatch.setenv("RISKLOOP_DATA_DIR", str(settings.data_dir))
    review_large_payments(rl)
    rl.decisions.decide(card_payment(event_id="e-1", occurred_at=_at(0), amount=90_000))
    rl.decisions.decide(card_payment(event_id="e-2", occurred_at=_at(1), amount=100))
    rl.close()
    runner = CliRunner()
    labels = tmp_path / "chargebacks.ndjson"
    rows = [
        {
            "label_id": "f1",
            "kind": "chargeback",
            "event_id": "e-2",
            "network": "mastercard",
            "reason_code": "4837",
        },
        {"label_id": "f2", "kind": "customer_report", "event_id": "unknown-event"},
        {"label_id": "f3", "kind": "analyst", "event_id": "e-2"},  # no verdict: dead letter
    ]
    labels.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    res = runner.invoke(cli, ["import", "labels", str(labels), "--no-progress"])
    assert res.exit_code == 0, res.output
    summary, _ = json.JSONDecoder().raw_decode(res.output[res.output.index("{") :])
    assert (summary["accepted"], summary["rejected"], summary["pending"]) == (2, 1, 1)
    res = runner.invoke(cli, ["labels", "pending", "--json"])
    assert res.exit_code == 3 and "unknown-event" in res.output
    res = runner.invoke(cli, ["cases", "list", "--json"])
    cases = json.loads(res.output)
    assert res.exit_code == 0 and len(cases) == 1
    case_id = cases[0]["case_id"]
    assert runner.invoke(cli, ["cases", "claim", case_id, "--as", "ana"]).exit_code == 0
    res = runner.invoke(cli, ["cases", "claim", case_id, "--as", "bob"])
    assert res.exit_code == 1 and "in review by ana" in res.output
    res = runner.invoke(cli, ["cases", "resolve", case_id, "maybe", "--as", "ana"])
    assert res.exit_code == 1 and "resolution" in res.output
    res = runner.invoke(cli, ["cases", "resolve", case_id, "not_fraud", "--as", "ana"])
    assert res.exit_code == 0 and "resolved" in res.output
    res = runner.invoke(cli, ["labels", "show", "e-1"])
    assert json.loads(res.output)["effective"]["fraud"] is False
    res = runner.invoke(cli, ["cases", "sar", case_id, "--as", "cora"])
    assert res.exit_code == 0 and "DRAFT suspicious activity report" in res.output


def test_an_acquirer_csv_is_matched_by_card_amount_and_day(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rl: Riskloop
) -> None:
    monkeypatch.setenv("RISKLOOP_DATA_DIR", str(settings.data_dir))
    rl.ingestor.ingest(card_payment(event_id="acq-1", occurred_at=_at(0), amount=4_599))
    rl.close()
    src = tmp_path / "acquirer.csv"
    src.write_text(
        "case_ref,pan,amount,txn_date,code\n"
        f"A-1,{VISA_PAN},4599,2026-11-02,10.4\n"
        f"A-2,{VISA_PAN},1,2026-11-02,10.4\n"
        f"A-3,{VISA_PAN},4599,2026-11-02,\n"
    )
    res = CliRunner().invoke(
        cli,
        [
            "import", "labels", str(src), "--no-progress",
            "--map", "case_ref=label_id", "--map", "pan=match.card.pan",
            "--map", "amount=match.amount", "--map", "txn_date=match.on",
            "--map", "code=reason_code",
            "--set", "kind=chargeback", "--set", "network=visa", "--set", "match.currency=EUR",
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    summary, _ = json.JSONDecoder().raw_decode(res.output[res.output.index("{") :])
    assert (summary["accepted"], summary["rejected"], summary["pending"]) == (2, 1, 1)
    assert "reason_code" in json.dumps(summary["reasons"])  # no code, named
    res = CliRunner().invoke(cli, ["labels", "show", "acq-1"])
    assert json.loads(res.output)["effective"]["label_id"] == "A-1"
    res = CliRunner().invoke(cli, ["labels", "pending", "--json"])
    assert res.exit_code == 3 and "no card payment fits" in res.output
    assert VISA_PAN not in res.output


def test_cli_deals_the_queue_and_four_eyes(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, rl: Riskloop
) -> None:
    monkeypatch.setenv("RISKLOOP_DATA_DIR", str(settings.data_dir))
    review_large_payments(rl)
    for i in range(3):
        rl.decisions.decide(
            card_payment(event_id=f"q-{i}", occurred_at=_at(i), amount=20_000, customer_id=f"c{i}")
        )
    rl.close()
    runner = CliRunner()
    res = runner.invoke(cli, ["cases", "assign", "--as", "lead", "--to", "ana", "--to", "bob"])
    assert res.exit_code == 0, res.output
    assert [d["assignee"] for d in json.loads(res.output)] == ["ana", "bob", "ana"]
    res = runner.invoke(cli, ["cases", "next", "--as", "bob"])
    assert res.exit_code == 0 and "in review by bob" in res.output
    case_id = res.output.split()[0]
    res = runner.invoke(
        cli, ["cases", "resolve", case_id, "fraud", "--as", "bob", "--action", "close_account"]
    )
    assert res.exit_code == 0 and "pending_approval" in res.output
    res = runner.invoke(cli, ["cases", "approve", case_id, "--as", "bob"])
    assert res.exit_code == 1 and "four-eyes" in res.output
    res = runner.invoke(cli, ["cases", "reject", case_id, "--as", "cora", "close is too much"])
    assert res.exit_code == 0 and "in_review" in res.output
    assert runner.invoke(cli, ["cases", "next", "--as", "zed"]).exit_code == 3
