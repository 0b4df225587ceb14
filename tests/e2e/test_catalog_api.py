"""Rules, lists and policies over HTTP: every refusal names its field, nothing half-saved,
every change audited in a chain a client can check."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from riskloop.bootstrap import Riskloop
from riskloop.entrypoints.http import create_app
from tests.support.http import AdminClient

RULE = {
    "id": "velocity",
    "expression": "features.card_count_1h >= 10",
    "reason": "CARD_VELOCITY",
    "action": "review",
    "event_types": ["card_payment"],
    "author": "ana",
}


@pytest.fixture
def client(rl: Riskloop) -> Iterator[TestClient]:
    with AdminClient(create_app(rl)) as c:
        yield c


def _errors(r: Any) -> list[tuple[str, str]]:
    return [(e["field"], e["reason"]) for e in r.json()["error"]["errors"]]


@pytest.mark.parametrize(
    ("change", "field", "reason_part"),
    [
        ({"expression": "event.currency > 3"}, "expression", "line 1, column 16"),
        ({"expression": "features.card_cnt_1h > 3"}, "expression", "undeclared reference"),
        ({"expression": "lists.nope"}, "expression", "undeclared reference to 'lists.nope'"),
        ({"author": ""}, "author", "who makes the change"),
        ({"action": "block"}, "action", "must be one of"),
        ({"event_types": ["wire"]}, "event_types[0]", "unknown event type"),
        ({"colour": "red"}, "colour", "unknown field"),
    ],
)
def test_bad_rules_are_422_naming_the_field(
    client: TestClient, change: dict, field: str, reason_part: str
) -> None:
    r = client.post("/v1/rules", json={**RULE, **change})
    assert r.status_code == 422
    fields = _errors(r)
    assert any(f == field and reason_part in reason for f, reason in fields), fields
    assert client.get("/v1/rules/velocity").status_code == 404


def test_rule_versions_validate_and_status(client: TestClient) -> None:
    assert client.post("/v1/rules/validate", json=RULE).json()["valid"] is True
    assert client.get("/v1/rules/velocity").status_code == 404  # validate saves nothing
    assert client.post("/v1/rules", json=RULE).json()["version"] == 1
    second = client.post(
        "/v1/rules",
        json={
            **RULE,
            "expression": "features.card_count_1h >= 8",
            "author": "bo",
            "note": "tighter",
        },
    )
    assert second.json()["version"] == 2
    r = client.post("/v1/rules/velocity/status", json={"status": "paused", "author": "cy"})
    assert r.status_code == 422 and _errors(r)[0][0] == "status"
    r = client.post("/v1/rules/velocity/status", json={"status": "shadow", "author": "cy"})
    assert r.json()["status"] == "shadow"
    versions = client.get("/v1/rules/velocity/versions").json()["versions"]
    assert [(v["version"], v["author"], v["status"]) for v in versions] == [
        (1, "ana", "active"),
        (2, "bo", "active"),
        (3, "cy", "shadow"),
    ]


def test_list_entries_are_all_or_nothing(client: TestClient) -> None:
    assert (
        client.post(
            "/v1/lists", json={"name": "ips", "kind": "block", "type": "ip", "author": "ana"}
        ).status_code
        == 201
    )
    bad = client.post(
        "/v1/lists/ips/entries",
        json={
            "author": "ana",
            "entries": [
                {"value": "10.0.0.0/8"},
                {"value": "10.0.0.300"},
                {"value": "::1", "expires_at": "soon"},
                {"value": "10.1.1.1", "colour": 1},
            ],
        },
    )
    assert bad.status_code == 422
    assert [f for f, _ in _errors(bad)] == [
        "entries[1].value",
        "entries[2].expires_at",
        "entries[3].colour",
    ]
    assert client.get("/v1/lists/ips/entries").json() == {"entries": []}
    ok = client.post(
        "/v1/lists/ips/entries",
        json={"author": "ana", "entries": [{"value": "10.0.0.0/8", "reason": "internal"}]},
    )
    assert ok.status_code == 201
    assert (
        client.post(
            "/v1/rules", json={**RULE, "id": "ip", "expression": "lists.ips", "action": "decline"}
        ).status_code
        == 201
    )
    used = client.delete("/v1/lists/ips", params={"author": "ana"})
    assert used.status_code == 409
    removed = client.post(
        "/v1/lists/ips/entries/remove", json={"author": "ana", "values": ["10.0.0.0/8"]}
    )
    assert removed.json() == {"list": "ips", "removed": 1}
    assert client.get("/v1/lists/nope").status_code == 404


def test_policies_and_the_audit_chain(client: TestClient) -> None:
    client.post("/v1/rules", json=RULE)
    base = {"id": "cards", "event_types": ["card_payment"], "author": "ana"}
    bad = client.post(
        "/v1/policies", json={**base, "rules": ["nope"], "thresholds": {"review": 1.5}}
    )
    assert bad.status_code == 422
    assert {f for f, _ in _errors(bad)} == {"thresholds.review"}
    unknown_rule = client.post("/v1/policies", json={**base, "rules": ["nope"]})
    assert _errors(unknown_rule)[0][0] == "rules[0]"
    assert client.post("/v1/policies", json=base).status_code == 201
    clash = client.post("/v1/policies", json={**base, "id": "other"})
    assert clash.status_code == 409
    r = client.post(
        "/v1/policies/cards/versions/1/status", json={"status": "retired", "author": "bo"}
    )
    assert r.json()["status"] == "retired"
    assert (
        client.post(
            "/v1/policies/cards/versions/9/status", json={"status": "active", "author": "bo"}
        ).status_code
        == 404
    )
    chain = client.get("/v1/audit").json()["entries"]
    assert chain[0]["action"] == "apikey.create"  # the test client's key
    entries = chain[1:]
    assert [e["action"] for e in entries] == ["rule.create", "policy.create", "policy.retired"]
    assert [e["actor"] for e in entries] == ["ana", "ana", "bo"]
    for before, after in itertools.pairwise(chain):
        assert after["prev_hash"] == before["hash"]
