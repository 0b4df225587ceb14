"""Retention as operators meet it: ``riskloop retention run [--dry-run] [--as-of]``, ``holds
add|release|list``, ``jobs run retention`` and the same over HTTP, each with a clear error
naming the option or field for bad input, 404 for an unknown hold and 409 for one already
released, never a 500."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from riskloop.bootstrap import Riskloop, build
from riskloop.config import Settings
from riskloop.entrypoints.http import create_app
from riskloop.ledger.audit import verify_chain
from tests.support.http import AdminClient
from tests.unit.factories import card_payment, login

OLD = "2015-01-01T00:00:00Z"  # past every default retention


def _seed(rl: Riskloop) -> dict[str, str]:
    ids = {
        "old_login": login(occurred_at=OLD),
        "old_payment": card_payment(occurred_at=OLD, customer_id="cus-held"),
        "young_payment": card_payment(),
    }
    for payload in ids.values():
        rl.ingestor.ingest(payload)
    return {k: v["event_id"] for k, v in ids.items()}


def _stored(rl: Riskloop, event_id: str) -> dict[str, Any] | None:
    got = rl.events.get(event_id)
    return None if got is None else {"data": got.data, "sealed": got.pii is not None}


# -- the command line ------------------------------------------------------------------------


@pytest.fixture
def seeded(env: dict[str, str]) -> dict[str, str]:
    rl = build(Settings.from_env(env))
    try:
        return _seed(rl)
    finally:
        rl.close()


def _with_app(env: dict[str, str]) -> Riskloop:
    return build(Settings.from_env(env))


def test_cli_dry_run_then_run_with_a_hold(
    run: Any, env: dict[str, str], seeded: dict[str, str]
) -> None:
    dry = run("retention", "run", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    report = json.loads(dry.stdout)
    assert report["dry_run"] is True
    assert report["totals"] == {"deleted": 1, "anonymised": 1, "held": 0, "other": 0}
    table = run("retention", "run", "--dry-run")
    assert table.exit_code == 0 and "would process" in table.stdout
    assert "card_payment" in table.stdout and "anonymise" in table.stdout

    added = run(
        "retention", "holds", "add", "--subject", "customer", "--value", "cus-held",
        "--reason", "dispute with the cardholder", "--actor", "lee", "--json",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    hold = json.loads(added.stdout)
    assert (hold["subject"], hold["placed_by"], hold["active"]) == ("customer", "lee", True)
    listed = run("retention", "holds", "list", "--json")
    assert [h["hold_id"] for h in json.loads(listed.stdout)] == [hold["hold_id"]]
    assert hold["hold_id"] in run("retention", "holds", "list").stdout

    done = run("retention", "run", "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["totals"] == {
        "deleted": 1,
        "anonymised": 0,
        "held": 1,
        "other": 0,
    }
    rl = _with_app(env)
    try:
        assert _stored(rl, seeded["old_login"]) is None
        assert _stored(rl, seeded["old_payment"]) == {
            "data": rl.events.get(seeded["old_payment"]).data,  # type: ignore[union-attr]
            "sealed": True,
        }
    finally:
        rl.close()

    released = run("retention", "holds", "release", hold["hold_id"], "--actor", "lee")
    assert released.exit_code == 0 and f"released {hold['hold_id']}" in released.stdout
    again = run("retention", "holds", "release", hold["hold_id"])
    assert again.exit_code == 1 and "already released" in again.stderr
    after = run("retention", "run")
    assert after.exit_code == 0 and "anonymised 1 events" in after.stdout
    assert run("retention", "holds", "list", "--status", "released", "--json").exit_code == 0

    job = run("jobs", "run", "retention", "--json")
    assert job.exit_code == 0, job.output
    summary = json.loads(job.stdout)["summary"]
    assert summary["deleted"] == summary["anonymised"] == 0 and summary["run_id"]
    rl = _with_app(env)
    try:
        entries = list(rl.catalog.store.audit().iterate())
        assert verify_chain(entries) == (len(entries), None)
        actors = [e.actor for e in entries if e.action == "retention.run"]
        assert actors[-1] == "scheduler" and len(actors) == 3
    finally:
        rl.close()


def test_cli_bad_input_names_the_option(run: Any, env: dict[str, str]) -> None:
    bad = run(
        "retention", "holds", "add", "--subject", "account", "--value", "x", "--reason", " "
    )  # fmt: skip
    assert bad.exit_code == 2
    assert "--subject: one of customer, event, case" in bad.stderr
    assert "--reason: required" in bad.stderr
    unknown = run("retention", "holds", "release", "hold_nope")
    assert unknown.exit_code == 1 and "not found" in unknown.stderr
    assert "--status" in run("retention", "holds", "list", "--status", "open").stderr
    future = run("retention", "run", "--as-of", "2999-01-01")
    assert future.exit_code == 2 and "--as-of: must not be in the future" in future.stderr
    assert run("retention", "run", "--dry-run", "--as-of", "2999-01-01").exit_code == 0
    garbage = run("retention", "run", "--as-of", "yesterday")
    assert garbage.exit_code == 2 and "--as-of" in garbage.stderr


def test_a_retention_shorter_than_a_feature_window_is_refused(
    run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RISKLOOP_RETENTION", "login=30:delete")
    got = run("retention", "run", "--dry-run")
    assert got.exit_code == 2
    assert "invalid setting RISKLOOP_RETENTION: login=30 is shorter than the 91 days" in (
        got.stderr.replace("\n", " ")
    )
    monkeypatch.setenv("RISKLOOP_RETENTION", "login=400:anonymise,dead_letters=10:delete")
    got = run("retention", "run", "--dry-run", "--json")
    assert got.exit_code == 0, got.output
    rows = {c["name"]: c for c in [*json.loads(got.stdout)["events"]]}
    assert (rows["login"]["action"], rows["login"]["retention_days"]) == ("anonymise", 400)


# -- HTTP ------------------------------------------------------------------------------------


@pytest.fixture
def client(rl: Riskloop) -> Iterator[TestClient]:
    with AdminClient(create_app(rl, follow_every_s=3600), raise_server_exceptions=False) as c:
        yield c


def _error(r: Any) -> list[tuple[str, str]]:
    return [(e["field"], e["reason"]) for e in r.json()["error"].get("errors", [])]


def test_http_holds_and_runs(rl: Riskloop, client: TestClient) -> None:
    ids = _seed(rl)
    r = client.post(
        "/v1/retention/holds", json={"subject": "event", "value": ids["old_login"], "reason": "x"}
    )
    assert r.status_code == 201, r.text
    hold = r.json()
    assert hold["placed_by"].startswith("key:")  # the principal, not the body
    assert client.get("/v1/retention/holds").json()["holds"] == [hold]

    dry = client.post("/v1/retention/run", json={"dry_run": True})
    assert dry.status_code == 200, dry.text
    assert dry.json()["totals"] == {"deleted": 0, "anonymised": 1, "held": 1, "other": 0}
    assert _stored(rl, ids["old_payment"])["sealed"] is True  # type: ignore[index]

    done = client.post("/v1/retention/run")  # no body: a real run, as of now
    assert done.status_code == 200, done.text
    assert done.json()["dry_run"] is False and done.json()["totals"]["anonymised"] == 1
    assert _stored(rl, ids["old_payment"])["sealed"] is False  # type: ignore[index]
    assert _stored(rl, ids["old_login"]) is not None  # held

    released = client.post(f"/v1/retention/holds/{hold['hold_id']}/release")
    assert released.status_code == 200 and released.json()["active"] is False
    assert released.json()["released_by"] == hold["placed_by"]
    assert client.get("/v1/retention/holds").json()["holds"] == []
    assert len(client.get("/v1/retention/holds?status=all").json()["holds"]) == 1
    again = client.post(f"/v1/retention/holds/{hold['hold_id']}/release")
    assert again.status_code == 409 and "already released" in again.json()["error"]["message"]
    assert client.post("/v1/retention/holds/hold_nope/release").status_code == 404
    assert (
        client.post("/v1/retention/run", json={"dry_run": False}).json()["totals"]["deleted"] == 1
    )
    assert _stored(rl, ids["old_login"]) is None
    entries = list(rl.catalog.store.audit().iterate())
    assert verify_chain(entries) == (len(entries), None)


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        (
            "/v1/retention/holds",
            {"subject": "account", "value": "a", "reason": ""},
            [("subject", "one of customer, event, case"), ("reason", "required: why the data must be kept")],
        ),
        ("/v1/retention/holds", {"subject": "case", "reason": "r"}, [("value", "the customer id, event id or case id (1-128)")]),
        ("/v1/retention/holds", {"subject": "case", "value": "c", "reason": "r", "actor": "x"}, [("actor", "unknown field")]),
        ("/v1/retention/holds", ["not", "an", "object"], [("body", "must be a JSON object")]),
        ("/v1/retention/run", {"dry_run": "yes"}, [("dry_run", "true or false")]),
        ("/v1/retention/run", {"as_of": "2999-01-01T00:00:00Z"}, [("as_of", "must not be in the future (a dry run may look ahead)")]),
        ("/v1/retention/run", {"as_of": "soon"}, [("as_of", "an ISO 8601 date and time with a timezone")]),
        ("/v1/retention/run", {"as_of": "2020-01-01T00:00:00"}, [("as_of", "needs a timezone (e.g. Z or +01:00)")]),
        ("/v1/retention/run", {"dryrun": True}, [("dryrun", "unknown field")]),
    ],
)  # fmt: skip
def test_http_bad_input_is_a_422_naming_the_field(
    client: TestClient, path: str, body: Any, expected: list[tuple[str, str]]
) -> None:
    r = client.post(path, json=body)
    assert r.status_code == 422, r.text
    assert _error(r) == expected


def test_http_bad_status_filter_is_a_422(client: TestClient) -> None:
    r = client.get("/v1/retention/holds?status=open")
    assert r.status_code == 422 and _error(r) == [("status", "one of active, released, all")]
