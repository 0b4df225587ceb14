"""``POST /v1/decisions`` end to end over HTTP: outcomes with reasons, idempotency,
conflicts, bad input that stores nothing, shadow policies, and no PAN in any answer."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest
from fastapi.testclient import TestClient

from riskloop.bootstrap import Riskloop
from riskloop.entrypoints.http import create_app
from tests.support.factories import PANS, card_payment
from tests.support.http import AdminClient


@pytest.fixture
def client(rl: Riskloop) -> Iterator[TestClient]:
    with AdminClient(create_app(rl)) as c:
        assert (
            c.post(
                "/v1/lists",
                json={
                    "name": "blocked_devices",
                    "kind": "block",
                    "type": "device",
                    "author": "ana",
                },
            ).status_code
            == 201
        )
        r = c.post(
            "/v1/lists/blocked_devices/entries",
            json={"author": "ana", "entries": [{"value": "dev-bad", "reason": "ring"}]},
        )
        assert r.status_code == 201
        for rule in (
            {
                "id": "blocked_device",
                "expression": "lists.blocked_devices",
                "action": "decline",
                "reason": "BLOCKED_DEVICE",
                "priority": 10,
            },
            {
                "id": "large_cnp",
                "action": "challenge",
                "reason": "LARGE_CNP",
                "expression": "event.amount > 100000 && event.channel == 'card_not_present'",
            },
            {
                "id": "velocity",
                "expression": "features.card_count_1h >= 1",
                "action": "review",
                "reason": "CARD_VELOCITY",
                "status": "shadow",
            },
        ):
            body = {**rule, "event_types": ["card_payment"], "author": "ana"}
            assert c.post("/v1/rules", json=body).status_code == 201
        r = c.post(
            "/v1/policies", json={"id": "cards", "event_types": ["card_payment"], "author": "ana"}
        )
        assert r.status_code == 201
        yield c


def test_outcomes_and_reasons(client: TestClient) -> None:
    plain = client.post("/v1/decisions", json=card_payment())
    assert plain.status_code == 201
    assert (plain.json()["outcome"], plain.json()["reasons"]) == ("approve", [])
    blocked = client.post("/v1/decisions", json=card_payment(device={"id": "dev-bad"}))
    assert (blocked.json()["outcome"], blocked.json()["reasons"]) == ("decline", ["BLOCKED_DEVICE"])
    big = client.post("/v1/decisions", json=card_payment(amount=250000)).json()
    assert (big["outcome"], big["reasons"], big["decided_by"]) == (
        "challenge",
        ["LARGE_CNP"],
        "large_cnp",
    )
    stepped = client.post(
        "/v1/decisions", json=card_payment(amount=250000, three_ds="authenticated")
    ).json()
    assert stepped["outcome"] == "approve"
    # the shadow rule hit (the card was seen before) and is recorded, never deciding
    shadow = [r for r in stepped["rules"] if r["id"] == "velocity"]
    assert shadow == [
        {
            "id": "velocity",
            "version": 1,
            "status": "shadow",
            "action": "review",
            "reason": "CARD_VELOCITY",
            "hit": True,
        }
    ]
    assert stepped["policy"] == "cards@1"
    assert stepped["features"]["card_count_1h"] == 3
    stored = client.get(f"/v1/decisions/{stepped['decision_id']}").json()
    assert {k: stored[k] for k in ("outcome", "reasons", "rules", "features", "rule_versions")} == {
        k: stepped[k] for k in ("outcome", "reasons", "rules", "features", "rule_versions")
    }


def test_the_same_event_gets_the_same_decision_and_counts_once(client: TestClient) -> None:
    event = card_payment(card={"pan": PANS[1]})
    first = client.post("/v1/decisions", json=event)
    again = client.post("/v1/decisions", json=event)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["replayed"] is True
    assert again.json()["decision_id"] == first.json()["decision_id"]
    later = client.post("/v1/decisions", json=card_payment(card={"pan": PANS[1]})).json()
    assert later["features"]["card_count_1h"] == 1  # the retry was not counted
    conflict = client.post("/v1/decisions", json={**event, "amount": event["amount"] + 1})
    assert conflict.status_code == 409
    found = client.get("/v1/decisions", params={"event_id": event["event_id"]}).json()
    assert [d["decision_id"] for d in found["decisions"]] == [first.json()["decision_id"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (card_payment(card={"pan": "4111111111111112"}), "card.pan"),
        (card_payment(event_type="wire"), "event_type"),
        ({**card_payment(), "card": {"pan": PANS[0], "cvv": "123"}}, "card.cvv"),
        (card_payment(amount=-1), "amount"),
        (card_payment(occurred_at="2026-11-01T12:00:00"), "occurred_at"),
    ],
)
def test_bad_events_are_422_naming_the_field_and_store_nothing(
    client: TestClient, body: dict, field: str
) -> None:
    r = client.post("/v1/decisions", json=body)
    assert r.status_code == 422
    assert r.json()["error"]["errors"][0]["field"] == field
    assert client.get(f"/v1/events/{body['event_id']}").status_code == 404
    assert client.get("/v1/decisions", params={"event_id": body["event_id"]}).json() == {
        "decisions": []
    }
    assert PANS[0] not in r.text and "4111111111111112" not in r.text


@pytest.mark.parametrize("raw", [b"{", b"[1, 2]", b'"card"', b""])
def test_bodies_that_are_not_an_event_are_422(client: TestClient, raw: bytes) -> None:
    r = client.post("/v1/decisions", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422


def test_a_shadow_policy_version_is_recorded_beside(client: TestClient) -> None:
    r = client.post(
        "/v1/policies",
        json={
            "id": "cards",
            "event_types": ["card_payment"],
            "status": "shadow",
            "mode": "first_match",
            "thresholds": {"decline": 0.0},
            "author": "bo",
        },
    )
    assert r.status_code == 201
    d = client.post("/v1/decisions", json=card_payment()).json()
    assert d["outcome"] == "approve" and d["policy"] == "cards@1"
    assert d["shadow"] == [
        {
            "policy": "cards@2",
            "outcome": "decline",
            "reasons": ["MODEL_HIGH_RISK", *d["shadow"][0]["reasons"][1:]],
        }
    ]


def test_no_card_number_in_any_answer(client: TestClient) -> None:
    d = client.post("/v1/decisions", json=card_payment(card={"pan": PANS[2]}))
    got = client.get(f"/v1/decisions/{d.json()['decision_id']}")
    for text in (d.text, got.text, orjson.dumps(client.get("/v1/audit").json()).decode()):
        assert PANS[2] not in text


def test_an_event_stored_before_is_decided_once_without_recounting(client: TestClient) -> None:
    event = card_payment(card={"pan": PANS[3]})
    assert client.post("/v1/events", json=event).status_code == 201
    first = client.post("/v1/decisions", json=event)
    assert first.status_code == 201
    assert first.json()["fallbacks"] == ["FEATURES_UNAVAILABLE"]
    again = client.post("/v1/decisions", json=event)
    assert again.json()["replayed"] is True
    later = client.post("/v1/decisions", json=card_payment(card={"pan": PANS[3]})).json()
    assert later["features"]["card_count_1h"] == 1
