"""Backtests over HTTP and the CLI: a rule change replayed over recorded decisions gives the
outcome mix, fraud caught, good customers declined, review load and per-rule figures that
follow from the data; the event-log source agrees with the recorded source; bad input names
its field; shadow policies are compared on live traffic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from riskloop.bootstrap import Riskloop
from riskloop.entrypoints.cli import app as cli
from riskloop.entrypoints.http import create_app
from tests.support.factories import card_payment
from tests.support.http import AdminClient
from tests.support.playbooks import REVIEW_LARGE, review_large_payments

AMOUNTS = [500, 2000, 6000, 9000, 12000, 30000] * 5  # 30 payments
FRAUD = {2, 3, 4, 10}  # indexes labelled fraud: 6000, 9000, 12000, 12000


def _world(rl: Riskloop, client: TestClient) -> list[dict[str, Any]]:
    review_large_payments(rl)  # production: >= 100.00 goes to review
    decided = []
    for i, amount in enumerate(AMOUNTS):
        r = client.post(
            "/v1/decisions?deadline_ms=10000",
            json=card_payment(customer_id=f"c-{i}", amount=amount),
        )
        assert r.status_code == 201, r.text
        decided.append(r.json())
    for i in FRAUD:
        rl.labels.submit(
            {
                "label_id": f"lab-{i}",
                "event_id": decided[i]["event_id"],
                "kind": "analyst",
                "fraud": True,
                "author": "ana",
            }
        )
    rl.labels.submit(
        {"label_id": "lab-good", "event_id": decided[0]["event_id"], "kind": "confirmed_good"}
    )
    return decided


def _window() -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "since": (now - timedelta(hours=1)).isoformat(),
        "until": (now + timedelta(minutes=1)).isoformat(),
    }


LOWER = {**REVIEW_LARGE, "expression": "event.amount >= 5000", "action": "decline"}


def test_a_rule_change_backtested_over_recorded_decisions(rl: Riskloop) -> None:
    with AdminClient(create_app(rl)) as client:
        _world(rl, client)
        body = {**_window(), "author": "ana", "rules": [LOWER], "note": "lower big"}
        r = client.post("/v1/backtests?wait=true", json=body)
        assert r.status_code == 201, r.text
        report = r.json()["report"]

        assert report["events"] == 30 and report["source"] == "decisions"
        assert report["change"]["changed_rules"] == ["big"]
        assert report["production"] == {"card_payment": "cards@1"}
        assert report["baseline"]["outcomes"] == {
            "approve": 20,
            "challenge": 0,
            "review": 10,
            "decline": 0,
        }
        assert report["candidate"]["outcomes"]["decline"] == 20  # 6000, 9000, 12000, 30000
        assert report["candidate"]["outcomes"]["approve"] == 10
        assert report["changed"]["transitions"] == {
            "approve -> decline": 10,
            "review -> decline": 10,
        }
        assert report["labels"] == {
            "fraud": 4,
            "fraud_amount": 39000.0,
            "labelled_good": 1,
            "unlabelled": 25,
        }
        base, cand = report["baseline"]["fraud"], report["candidate"]["fraud"]
        assert (base["caught"], base["missed"], base["missed_amount"]) == (2, 2, 15000.0)
        assert (cand["caught"], cand["declined"], cand["recall"]) == (4, 4, 1.0)
        assert report["candidate"]["good_declined"] == {"count": 16, "amount": 246000.0}
        assert report["candidate"]["review_load"] == {"count": 0, "rate": 0.0}
        (big,) = report["rules"]
        assert (big["rule"], big["hits"], big["fraud_hits"]) == ("big", 20, 4)
        assert (big["precision"], big["recall"]) == (0.2, 1.0)

        backtest_id = report["backtest_id"]
        stored = client.get(f"/v1/backtests/{backtest_id}").json()
        assert stored["status"] == "done" and stored["report"] == report
        assert stored["created_by"] == "ana" and stored["spec"]["note"] == "lower big"
        png = client.get(f"/v1/backtests/{backtest_id}/plot.png")
        assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
        listed = client.get("/v1/backtests").json()["backtests"]
        assert [b["backtest_id"] for b in listed] == [backtest_id]

        # The event log replayed through a fresh engine decides the same way (its window
        # is of the events' own times: the factory's payments occurred on 1 November).
        day = {"since": "2026-11-01T00:00:00Z", "until": "2026-11-02T00:00:00Z"}
        r = client.post("/v1/backtests?wait=true", json={**body, **day, "source": "log"})
        replayed = r.json()["report"]
        for key in ("events", "baseline", "candidate", "changed", "labels", "rules"):
            assert replayed[key] == report[key], key

        # In the background: 202, then the stored report.
        r = client.post("/v1/backtests", json=body)
        assert r.status_code == 202
        started = r.json()["backtest_id"]
        for _ in range(100):
            found = client.get(f"/v1/backtests/{started}").json()
            if found["status"] != "running":
                break
        assert found["status"] == "done"
        assert found["report"]["candidate"]["outcomes"] == report["candidate"]["outcomes"]

    # Nothing in force changed.
    assert rl.catalog.rule("big").expression == REVIEW_LARGE["expression"]


def test_a_model_and_a_policy_threshold_as_candidates(rl: Riskloop) -> None:
    with AdminClient(create_app(rl)) as client:
        _world(rl, client)
        policy = {"id": "cards", "event_types": ["card_payment"], "rules": []}
        policy["thresholds"] = {"decline": 0.0}  # every scored payment declined
        r = client.post(
            "/v1/backtests?wait=true",
            json={**_window(), "author": "ana", "policies": [policy]},
        )
        assert r.status_code == 201, r.text
        report = r.json()["report"]
        assert report["change"]["policies"] == {"card_payment": "cards@2"}
        assert report["candidate"]["outcomes"]["decline"] == 30
        assert report["rules"] == []


def test_bad_backtests_name_the_field(rl: Riskloop) -> None:
    with AdminClient(create_app(rl)) as client:
        review_large_payments(rl)
        w = _window()
        cases = [
            ({**w, "author": "ana"}, "rules"),  # no candidate
            ({**w, "author": "ana", "rules": [LOWER], "until": w["since"]}, "until"),
            ({**w, "author": "ana", "rules": [LOWER], "since": "2026-11-01T00:00"}, "since"),
            ({**w, "author": "ana", "rules": [LOWER], "source": "tea"}, "source"),
            ({**w, "author": "ana", "model": "nope"}, "model"),
            ({**w, "author": "ana", "model": "nope@1"}, "model"),
            ({**w, "author": "ana", "policy": "ghost@1"}, "policy"),
            (
                {**w, "author": "ana", "rules": [{**LOWER, "expression": "event.amount >"}]},
                "candidate.rules[0].expression",
            ),
            (
                {**w, "author": "ana", "rules": [{**LOWER, "colour": "red"}]},
                "candidate.rules[0].colour",
            ),
            ({**w, "rules": [LOWER]}, "author"),
            ({**w, "author": "ana", "rules": [LOWER], "extra": 1}, "extra"),
        ]
        for body, field in cases:
            r = client.post("/v1/backtests?wait=true", json=body)
            assert r.status_code == 422, (body, r.text)
            fields = [e["field"] for e in r.json()["error"]["errors"]]
            assert field in fields, (field, fields)
        assert client.get("/v1/backtests/bt_missing").status_code == 404
        assert client.get("/v1/backtests").json()["backtests"] == []  # none stored


def test_the_cli_backtest_writes_the_report_and_the_plot(rl: Riskloop, tmp_path: Any) -> None:
    with AdminClient(create_app(rl)) as client:
        _world(rl, client)
    playbook = tmp_path / "candidate.json"
    playbook.write_bytes(orjson.dumps({"rules": [LOWER]}))
    out, plot = tmp_path / "report.json", tmp_path / "plot.png"
    w = _window()
    result = CliRunner().invoke(
        cli,
        [
            "backtest",
            "--playbook",
            str(playbook),
            "--since",
            w["since"],
            "--until",
            w["until"],
            "--author",
            "ana",
            "--out",
            str(out),
            "--plot",
            str(plot),
        ],
        env={"RISKLOOP_DATA_DIR": str(rl.settings.data_dir)},
    )
    assert result.exit_code == 0, result.output
    assert "decline" in result.output and "big" in result.output
    report = orjson.loads(out.read_bytes())
    assert report["candidate"]["outcomes"]["decline"] == 20
    assert plot.read_bytes().startswith(b"\x89PNG")


def test_shadow_policy_compared_on_live_traffic(rl: Riskloop) -> None:
    with AdminClient(create_app(rl)) as client:
        rl.catalog.save_rule(REVIEW_LARGE)
        rl.catalog.save_rule({**LOWER, "id": "big_strict"})
        tiny = {**LOWER, "id": "tiny", "expression": "event.amount < 1000", "status": "shadow"}
        rl.catalog.save_rule(tiny)
        rl.catalog.save_policy(
            {"id": "cards", "event_types": ["card_payment"], "rules": ["big"], "author": "ana"}
        )
        rl.catalog.save_policy(
            {
                "id": "cards_strict",
                "event_types": ["card_payment"],
                "rules": ["big_strict", "tiny"],
                "status": "shadow",
                "author": "ana",
            }
        )
        rl.catalog.refresh(force=True)
        decided = []
        for i, amount in enumerate(AMOUNTS):
            r = client.post(
                "/v1/decisions?deadline_ms=10000",
                json=card_payment(customer_id=f"c-{i}", amount=amount),
            )
            decided.append(r.json())
        rl.labels.submit(
            {
                "label_id": "l1",
                "event_id": decided[2]["event_id"],
                "kind": "analyst",
                "fraud": True,
                "author": "ana",
            }
        )
        report = client.get("/v1/shadow").json()
        strict = report["policies"]["cards_strict@1"]
        assert strict["events"] == 30
        assert strict["baseline"]["outcomes"]["review"] == 10
        assert strict["candidate"]["outcomes"]["decline"] == 20
        assert strict["candidate"]["fraud"]["caught"] == 1
        assert strict["baseline"]["fraud"]["caught"] == 0
        assert [(r["rule"], r["hits"]) for r in strict["rules"]] == [("tiny", 5)]
        (tiny,) = report["rules"]  # every decision that evaluated it, with or without policy
        assert (tiny["rule"], tiny["evaluated"], tiny["hits"], tiny["fraud_hits"]) == (
            "tiny",
            30,
            5,
            0,
        )
        assert report["fraud"] == 1
        assert client.get("/v1/shadow?since=2026-01-01T00:00").status_code == 422


def test_a_model_that_cannot_be_served_is_refused_and_a_failed_run_is_kept(
    rl: Riskloop,
) -> None:
    version = rl.models.registry.register(
        name="broken",
        kind="lightgbm",
        event_type="card_payment",
        features=["card_count_1h"],
        artifact_name="model.txt",
        files=lambda ref: {"model.txt": b"not a model"},
        author="ana",
        metrics={},
        lineage={},
        params={},
    )
    with AdminClient(create_app(rl)) as client:
        review_large_payments(rl)
        r = client.post(
            "/v1/backtests?wait=true",
            json={**_window(), "author": "ana", "model": version.ref},
        )
        assert r.status_code == 422
        assert r.json()["error"]["errors"][0]["field"] == "model"

    # A run that fails part-way is stored as failed, with its error masked.
    from riskloop.service.backtest import parse_spec

    spec = parse_spec({**_window(), "rules": [LOWER]})

    def broken_labels() -> dict[str, bool]:
        raise RuntimeError("label index away; card 4111111111111111")

    rl.backtests.labels = broken_labels
    with pytest.raises(RuntimeError):
        rl.backtests.run(spec, author="ana")
    (failed,) = rl.backtests.recent()
    assert failed["status"] == "failed"
    assert "411111******1111" in failed["error"] and "4111111111111111" not in failed["error"]
