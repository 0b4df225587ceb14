"""Step-up authentication end to end over HTTP, with the example playbook: a challenge says
how to step up (``step_up``: ``mfa`` for logins, account changes and transfers, ``3ds`` for
card payments, or what the policy names); the client posts the ``challenge_result`` to
``/v1/events``; the customer's next decisions count it and it labels the challenged event.

An account takeover: a login from a new device far away is challenged, the attacker fails
the MFA, and the next transfer sees the failure. An owner who mistypes the code once and
then passes is approved on the retry that carries ``mfa: passed``."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
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
from tests.support.factories import card_payment
from tests.support.http import AdminClient

PLAYBOOK = Path(__file__).parents[2] / "examples" / "playbook.yaml"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
BERLIN = {"lat": 52.52, "lon": 13.405, "country": "DE"}
NEW_YORK = {"lat": 40.71, "lon": -74.01, "country": "US"}


def _at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def _login(
    event_id: str, customer: str, minutes: float, device: str, **extra: Any
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "event_type": "login",
        "occurred_at": _at(minutes),
        "customer_id": customer,
        "success": True,
        "device": {"id": device},
        "ip": "192.0.2.10",
        **extra,
    }


def _result(
    event_id: str, customer: str, minutes: float, challenged: Mapping[str, Any], result: str
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "event_type": "challenge_result",
        "occurred_at": _at(minutes),
        "customer_id": customer,
        "challenged_event_id": challenged["event_id"],
        "decision_id": challenged["decision_id"],
        "method": challenged["step_up"],
        "mfa_method": "totp",
        "result": result,
    }


@pytest.fixture
def client(rl: Riskloop) -> Iterator[TestClient]:
    PlaybookLoader(rl.catalog).apply(yaml.safe_load(PLAYBOOK.read_text("utf-8")), "ana")
    with AdminClient(create_app(rl, follow_every_s=3600)) as c:
        yield c


def _decide(client: TestClient, event: Mapping[str, Any]) -> dict[str, Any]:
    r = client.post("/v1/decisions", json=event, params={"deadline_ms": 10_000})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def _post_event(client: TestClient, event: Mapping[str, Any]) -> None:
    r = client.post("/v1/events", json=event)
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "accepted"


def _labels(client: TestClient, rl: Riskloop, event_id: str) -> dict[str, Any]:
    rl.labels.sync()  # what a server's follower does every 30 s
    r = client.get(f"/v1/events/{event_id}/labels")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_account_takeover_a_failed_step_up_reaches_the_next_transfer_and_the_labels(
    client: TestClient, rl: Riskloop
) -> None:
    home = _decide(client, _login("ato-l1", "cus-ato", 0, "dev-home", geo=BERLIN))
    assert (home["outcome"], home["step_up"]) == ("approve", None)

    far = _decide(client, _login("ato-l2", "cus-ato", 30, "dev-evil", geo=NEW_YORK))
    assert (far["outcome"], far["decided_by"], far["step_up"]) == (
        "challenge",
        "login_new_device_far",
        "mfa",
    )
    assert far["reasons"][0] == "NEW_DEVICE_FAR_AWAY"
    assert far["features"]["login_new_device"] == 1
    assert far["features"]["login_speed_kmh"] > 500
    stored = client.get(f"/v1/decisions/{far['decision_id']}").json()
    assert stored["step_up"] == "mfa"  # the durable record says it too

    _post_event(client, _result("ato-c1", "cus-ato", 32, far, "failed"))

    transfer = {
        "event_id": "ato-t1",
        "event_type": "transfer",
        "occurred_at": _at(35),
        "rail": "sepa_instant",
        "customer_id": "cus-ato",
        "account_id": "acc-ato",
        "amount": 50_000,
        "currency": "EUR",
        "payee": {"iban": "GB33BUKB20201555555555"},
    }
    moved = _decide(client, transfer)
    assert moved["features"]["customer_challenges_failed_24h"] == 1
    assert moved["features"]["customer_challenges_passed_30d"] == 0
    assert (moved["outcome"], moved["decided_by"], moved["step_up"]) == (
        "challenge",
        "step_up_failed_recently",
        "mfa",
    )

    labels = _labels(client, rl, "ato-l2")
    effective = labels["effective"]
    assert (effective["kind"], effective["fraud"], effective["label_id"]) == (
        "step_up",
        True,
        "ato-c1",
    )
    assert (effective["result"], effective["decision_id"]) == ("failed", far["decision_id"])
    listed = client.get("/v1/labels", params={"kind": "step_up"}).json()["labels"]
    assert [(x["event_id"], x["fraud"]) for x in listed] == [("ato-l2", True)]
    assert _labels(client, rl, "ato-l1")["effective"] is None


def test_an_owner_who_passes_on_the_second_try_is_approved_on_the_retry(
    client: TestClient, rl: Riskloop
) -> None:
    _decide(client, _login("own-l1", "cus-own", 0, "dev-phone", geo=BERLIN))
    # Eight hours later in New York on a new laptop: ~800 km/h, a flight.
    trip = _decide(client, _login("own-l2", "cus-own", 8 * 60, "dev-laptop", geo=NEW_YORK))
    assert (trip["outcome"], trip["step_up"]) == ("challenge", "mfa")
    _post_event(client, _result("own-c1", "cus-own", 8 * 60 + 1, trip, "failed"))  # a typo

    again = _decide(client, _login("own-l3", "cus-own", 8 * 60 + 2, "dev-laptop", geo=NEW_YORK))
    assert (again["outcome"], again["decided_by"], again["step_up"]) == (
        "challenge",
        "step_up_failed_recently",
        "mfa",
    )
    _post_event(client, _result("own-c2", "cus-own", 8 * 60 + 3, again, "passed"))

    retry = _login(
        "own-l4", "cus-own", 8 * 60 + 4, "dev-laptop", geo=NEW_YORK, mfa="passed", mfa_method="totp"
    )
    passed = _decide(client, retry)
    assert (passed["outcome"], passed["step_up"]) == ("approve", None)
    hits = {r["id"]: r["hit"] for r in passed["rules"]}
    assert hits["step_up_failed_recently"] is True  # it hit; the passed step-up answered it
    assert passed["features"]["customer_challenges_passed_30d"] == 1
    # Without the step-up, the same login is still challenged.
    unproven = _decide(client, _login("own-l5", "cus-own", 8 * 60 + 5, "dev-laptop", geo=NEW_YORK))
    assert unproven["outcome"] == "challenge"

    assert _labels(client, rl, "own-l3")["effective"]["fraud"] is False
    assert _labels(client, rl, "own-l2")["effective"]["fraud"] is True


def test_an_account_change_from_a_new_device_is_challenged_with_mfa(client: TestClient) -> None:
    _decide(client, _login("ac-l1", "cus-ac", 0, "dev-home", geo=BERLIN))
    change = {
        "event_id": "ac-1",
        "event_type": "account_change",
        "occurred_at": _at(5),
        "customer_id": "cus-ac",
        "change": "email",
        "new_email": "someone.else@example.net",
        "device": {"id": "dev-unknown"},
    }
    challenged = _decide(client, change)
    assert (challenged["outcome"], challenged["decided_by"], challenged["step_up"]) == (
        "challenge",
        "account_change_new_device",
        "mfa",
    )
    assert challenged["policy"] == "account_changes@1"
    known = _decide(client, {**change, "event_id": "ac-2", "device": {"id": "dev-home"}})
    assert (known["outcome"], known["step_up"]) == ("approve", None)
    address = {
        **change,
        "event_id": "ac-3",
        "change": "address",
        "new_address": {"line1": "1 Main St", "city": "Leeds", "country": "GB"},
        "device": {"id": "dev-other"},
    }
    del address["new_email"]
    assert _decide(client, address)["outcome"] == "approve"  # not a change the rule covers


def test_a_card_payment_is_challenged_with_3ds_unless_the_policy_names_mfa(
    client: TestClient,
) -> None:
    # Card not present, issued in the US, paid from Germany, above 500.00.
    mismatch = {"amount": 60_000, "card": {"pan": "4012888888881881", "country": "US"}}
    first = _decide(client, card_payment(**mismatch))
    assert (first["outcome"], first["decided_by"], first["step_up"]) == (
        "challenge",
        "bin_country_mismatch",
        "3ds",
    )
    policy = {
        "id": "cards",
        "event_types": ["card_payment"],
        "thresholds": {"review": 0.6, "decline": 0.9},
        "step_up_method": "mfa",
        "author": "ana",
        "note": "confirm card payments in the app",
    }
    saved = client.post("/v1/policies", json=policy)
    assert saved.status_code == 201, saved.text
    assert saved.json()["step_up_method"] == "mfa"
    versions = client.get("/v1/policies/cards").json()["versions"]
    active = [p for p in versions if p["status"] == "active"]
    assert [p["step_up_method"] for p in active] == ["mfa"]

    second = _decide(client, card_payment(**mismatch))
    assert (second["outcome"], second["policy"], second["step_up"]) == (
        "challenge",
        "cards@2",
        "mfa",
    )
    confirmed = _decide(client, card_payment(**mismatch, mfa="passed"))
    assert (confirmed["outcome"], confirmed["step_up"]) == ("approve", None)

    bad = client.post("/v1/policies", json={**policy, "step_up_method": "sms"})
    assert bad.status_code == 422
    assert bad.json()["error"]["errors"][0]["field"] == "step_up_method"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"result": "maybe"}, "result"),
        ({"challenged_event_id": None}, "challenged_event_id"),
        ({"method": "sms"}, "method"),
    ],
)
def test_a_bad_challenge_result_is_a_422_naming_the_field(
    client: TestClient, change: dict[str, Any], field: str
) -> None:
    body: dict[str, Any] = {
        "event_id": "bad-c1",
        "event_type": "challenge_result",
        "occurred_at": _at(0),
        "customer_id": "cus-1",
        "challenged_event_id": "evt-1",
        "method": "mfa",
        "result": "failed",
        **change,
    }
    body = {k: v for k, v in body.items() if v is not None}
    r = client.post("/v1/events", json=body)
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["error"]["errors"]] == [field]
    assert client.get("/v1/events/bad-c1").status_code == 404  # nothing stored


def test_challenge_results_import_from_a_file_and_label_after_a_sync(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RISKLOOP_DATA_DIR", str(settings.data_dir))
    rows = [
        _login("f-l1", "cus-f", 0, "dev-1"),
        {
            "event_id": "f-c1",
            "event_type": "challenge_result",
            "occurred_at": _at(1),
            "customer_id": "cus-f",
            "challenged_event_id": "f-l1",
            "method": "mfa",
            "result": "failed",
        },
        {
            "event_id": "f-c2",
            "event_type": "challenge_result",
            "occurred_at": _at(2),
            "customer_id": "cus-f",
            "challenged_event_id": "f-l1",
            "method": "mfa",
            "result": "later",
        },
    ]
    src = tmp_path / "events.ndjson"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    res = CliRunner().invoke(cli, ["import", "events", str(src), "--no-progress"])
    assert res.exit_code == 0, res.output
    summary, _ = json.JSONDecoder().raw_decode(res.output[res.output.index("{") :])
    assert (summary["accepted"], summary["rejected"]) == (2, 1)
    assert "result" in json.dumps(summary["reasons"])

    rl = build(settings)
    try:
        assert rl.labels.sync() == 1
        effective = rl.labels.for_event("f-l1")["effective"]
        assert (effective["kind"], effective["fraud"]) == ("step_up", True)
        preview = rl.features.preview(
            "f-l2", "login", {"customer_id": "cus-f", "device": {"id": "dev-1"}}, T0
        )
        assert preview.values is not None
        assert preview.values["customer_challenges_failed_24h"] == 0  # before the failure
        later = rl.features.preview(
            "f-l3",
            "login",
            {"customer_id": "cus-f", "device": {"id": "dev-1"}},
            T0 + timedelta(minutes=5),
        )
        assert later.values is not None and later.values["customer_challenges_failed_24h"] == 1
    finally:
        rl.close()
