"""Rules, lists and policies over HTTP against a real embedded riskloop: each refusal is a
422 naming its field and saves nothing, versions grow, statuses change, what is in use
cannot be deleted, and every change is an audit entry with its author in a hash chain."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient

from riskloop.bootstrap import Riskloop
from riskloop.entrypoints.http import create_app
from tests.support.factories import PANS
from tests.support.http import AdminClient

GENESIS = "0" * 64
RULE: dict[str, Any] = {
    "id": "velocity",
    "expression": "features.card_count_1h >= 10",
    "reason": "CARD_VELOCITY",
    "action": "review",
    "event_types": ["card_payment"],
    "author": "ana",
}
POLICY: dict[str, Any] = {"id": "cards", "event_types": ["card_payment"], "author": "ana"}


@pytest.fixture
def client(rl: Riskloop) -> Iterator[TestClient]:
    bodies: list[str] = []

    def record(response: httpx.Response) -> None:
        response.read()
        bodies.append(response.text)

    with AdminClient(create_app(rl), raise_server_exceptions=False) as c:
        c.event_hooks = {"request": [], "response": [record]}
        yield c
    assert bodies  # every answer was seen
    assert [b[:200] for b in bodies for pan in PANS if pan in b] == []


def _errors(r: httpx.Response) -> list[tuple[str, str]]:
    return [(e["field"], e["reason"]) for e in r.json()["error"]["errors"]]


def _audit(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    r = client.get("/v1/audit", params=params)
    assert r.status_code == 200
    entries: list[dict[str, Any]] = r.json()["entries"]
    return [e for e in entries if e["kind"] != "api_key"]  # the test client's own key


def _chain_hash(entry: dict[str, Any]) -> str:
    """The entry's hash recomputed from what the API returns (ledger.audit.chain_hash)."""
    body = {
        "at": datetime.fromisoformat(entry["at"]).isoformat(),
        "actor": entry["actor"],
        "action": entry["action"],
        "kind": entry["kind"],
        "key": entry["key"],
        "detail": entry["detail"],
        "prev": entry["prev_hash"],
    }
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _make_list(client: TestClient, name: str, type_: str, kind: str = "block") -> None:
    r = client.post("/v1/lists", json={"name": name, "kind": kind, "type": type_, "author": "ana"})
    assert r.status_code == 201, r.text


# -- rules ----------------------------------------------------------------------------------


def test_a_rule_is_created_read_and_listed(client: TestClient) -> None:
    r = client.post("/v1/rules", json={**RULE, "description": "many payments", "owner": "risk"})
    assert r.status_code == 201
    saved = r.json()
    assert {k: saved[k] for k in ("id", "version", "status", "author", "priority")} == {
        "id": "velocity",
        "version": 1,
        "status": "active",
        "author": "ana",
        "priority": 100,
    }
    assert saved["saved_at"] is not None
    assert client.get("/v1/rules/velocity").json() == saved
    assert client.get("/v1/rules").json() == {"rules": [saved]}
    missing = client.get("/v1/rules/nope")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert client.get("/v1/rules/nope/versions").status_code == 404


@pytest.mark.parametrize(
    ("change", "field", "reason_part"),
    [
        ({"expression": "event.currency > 3"}, "expression", "line 1, column 16"),
        ({"expression": "event.amount"}, "expression", "must be a condition (bool)"),
        ({"expression": "event.amount >"}, "expression", "line 1, column"),
        ({"expression": "features.card_cnt_1h > 3"}, "expression", "features.card_cnt_1h"),
        ({"expression": "lists.nope"}, "expression", "undeclared reference to 'lists.nope'"),
        ({"expression": "event.card.pan == '1'"}, "expression", "event.card.pan"),
        ({"expression": ""}, "expression", "1-4000 characters"),
        ({"author": ""}, "author", "who makes the change"),
        ({"author": None}, "author", "who makes the change"),
        ({"action": "block"}, "action", "must be one of"),
        ({"reason": "velocity"}, "reason", "UPPER_SNAKE_CASE"),
        ({"id": "Velocity"}, "id", "starting with a letter"),
        ({"priority": -1}, "priority", "0 to 10000"),
        ({"status": "paused"}, "status", "must be one of"),
        ({"event_types": ["wire"]}, "event_types[0]", "unknown event type"),
        ({"event_types": []}, "event_types", "at least one event type"),
        ({"colour": "red"}, "colour", "unknown field"),
    ],
)
def test_a_bad_rule_is_422_naming_the_field(
    client: TestClient, change: dict[str, Any], field: str, reason_part: str
) -> None:
    body = {**RULE, **change}
    if change.get("author", "") is None:
        del body["author"]
    r = client.post("/v1/rules", json=body)
    assert r.status_code == 422, r.text
    errors = _errors(r)
    assert errors[0][0] == field, errors
    assert reason_part in errors[0][1], errors
    assert client.get("/v1/rules/velocity").status_code == 404
    assert _audit(client) == []


def test_an_ill_typed_expression_names_line_and_column(client: TestClient) -> None:
    r = client.post("/v1/rules", json={**RULE, "expression": "event.amount > 'big'"})
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "invalid_definition"
    assert len(error["errors"]) == 1
    assert error["errors"][0]["field"] == "expression"
    assert error["errors"][0]["reason"].startswith("for card_payment: line 1, column 14: ")
    r = client.post("/v1/rules", json={**RULE, "expression": "true &&\n  event.mcc == 1"})
    assert "line 2, column" in r.json()["error"]["errors"][0]["reason"]


def test_a_rule_body_that_is_not_an_object_is_422(client: TestClient) -> None:
    for raw in (b"[1]", b'"rule"', b"{nope"):
        r = client.post("/v1/rules", content=raw, headers={"content-type": "application/json"})
        assert r.status_code == 422
        assert r.json()["error"]["errors"][0]["field"] == "body"


def test_validate_checks_without_saving(client: TestClient) -> None:
    r = client.post("/v1/rules/validate", json=RULE)
    assert r.status_code == 200
    assert r.json()["valid"] is True
    assert r.json()["rule"]["expression"] == RULE["expression"]
    assert client.get("/v1/rules/velocity").status_code == 404
    assert client.get("/v1/rules").json() == {"rules": []}
    without_author = {k: v for k, v in RULE.items() if k != "author"}
    assert client.post("/v1/rules/validate", json=without_author).status_code == 200
    bad = client.post("/v1/rules/validate", json={**RULE, "expression": "event.currency > 3"})
    assert bad.status_code == 422 and _errors(bad)[0][0] == "expression"
    assert _audit(client) == []


def test_versions_grow_and_keep_who_and_why(client: TestClient) -> None:
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
    assert second.status_code == 201 and second.json()["version"] == 2
    refused = client.post("/v1/rules", json={**RULE, "expression": "nope", "author": "cy"})
    assert refused.status_code == 422
    versions = client.get("/v1/rules/velocity/versions").json()["versions"]
    assert [(v["version"], v["author"], v["note"], v["expression"]) for v in versions] == [
        (1, "ana", "", "features.card_count_1h >= 10"),
        (2, "bo", "tighter", "features.card_count_1h >= 8"),
    ]
    assert client.get("/v1/rules/velocity").json()["version"] == 2
    assert [r["version"] for r in client.get("/v1/rules").json()["rules"]] == [2]


def test_the_status_endpoint_saves_a_new_version(client: TestClient) -> None:
    client.post("/v1/rules", json=RULE)
    for status, version in (("shadow", 2), ("disabled", 3), ("active", 4)):
        r = client.post(
            "/v1/rules/velocity/status", json={"status": status, "author": "cy", "note": "why"}
        )
        assert r.status_code == 200, r.text
        assert (r.json()["status"], r.json()["version"], r.json()["author"]) == (
            status,
            version,
            "cy",
        )
    assert client.get("/v1/rules/velocity").json()["status"] == "active"
    for body, field in (
        ({"status": "paused", "author": "cy"}, "status"),
        ({"status": "shadow"}, "author"),
        ({"status": "shadow", "author": " "}, "author"),
        ({"status": "shadow", "author": "cy", "why": "x"}, "why"),
        ({"status": "shadow", "author": "cy", "note": 5}, "note"),
    ):
        r = client.post("/v1/rules/velocity/status", json=body)
        assert r.status_code == 422 and _errors(r)[0][0] == field, r.text
    assert client.get("/v1/rules/velocity").json()["version"] == 4
    r = client.post("/v1/rules/nope/status", json={"status": "shadow", "author": "cy"})
    assert r.status_code == 404


# -- lists ----------------------------------------------------------------------------------


def test_a_list_is_created_read_and_changed(client: TestClient) -> None:
    _make_list(client, "bad_ips", "ip")
    got = client.get("/v1/lists/bad_ips").json()
    assert got == {
        "name": "bad_ips",
        "kind": "block",
        "type": "ip",
        "fields": ["ip"],
        "description": "",
        "author": "ana",
    }
    changed = client.post(
        "/v1/lists",
        json={"name": "bad_ips", "kind": "watch", "type": "ip", "author": "bo", "description": "d"},
    )
    assert changed.status_code == 201 and changed.json()["kind"] == "watch"
    retyped = client.post(
        "/v1/lists", json={"name": "bad_ips", "kind": "block", "type": "bin", "author": "bo"}
    )
    assert retyped.status_code == 409
    assert [d["name"] for d in client.get("/v1/lists").json()["lists"]] == ["bad_ips"]
    assert client.get("/v1/lists/nope").status_code == 404
    assert client.get("/v1/lists/nope/entries").status_code == 404
    for body, field in (
        ({"name": "Bad", "kind": "block", "type": "ip", "author": "a"}, "name"),
        ({"name": "x", "kind": "deny", "type": "ip", "author": "a"}, "kind"),
        ({"name": "x", "kind": "block", "type": "phone", "author": "a"}, "type"),
        ({"name": "x", "kind": "block", "type": "ip"}, "author"),
        ({"name": "x", "kind": "block", "type": "ip", "author": "a", "size": 1}, "size"),
    ):
        r = client.post("/v1/lists", json=body)
        assert r.status_code == 422 and _errors(r)[0][0] == field, r.text
    assert client.get("/v1/lists/x").status_code == 404


@pytest.mark.parametrize(
    ("type_", "good", "bad", "reason_part"),
    [
        ("ip", "10.0.0.0/8", "10.0.0.300", "IP address or a CIDR range"),
        ("bin", "411111", "4111", "BIN of 6 to 8 digits"),
        ("country", "de", "XX", "ISO 3166-1 alpha-2"),
        ("card_token", PANS[1], "4111111111111112", "Luhn"),
        ("email_hash", "ada@example.com", "not-an-email", "e-mail address"),
        ("device", "dev-1", "dev 1", "1-128 letters"),
    ],
)
def test_a_bad_entry_value_is_422_and_nothing_is_added(
    client: TestClient, type_: str, good: str, bad: str, reason_part: str
) -> None:
    _make_list(client, "things", type_)
    r = client.post(
        "/v1/lists/things/entries",
        json={"author": "ana", "entries": [{"value": good}, {"value": bad}]},
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "invalid_input"
    errors = _errors(r)
    assert [f for f, _ in errors] == ["entries[1].value"]
    assert reason_part in errors[0][1]
    assert "4111111111111112" not in r.text
    assert client.get("/v1/lists/things/entries").json() == {"entries": []}
    assert [e["action"] for e in _audit(client)] == ["list.create"]


def test_entries_are_all_or_nothing_and_every_error_is_named(client: TestClient) -> None:
    _make_list(client, "ips", "ip")
    r = client.post(
        "/v1/lists/ips/entries",
        json={
            "author": "ana",
            "entries": [
                {"value": "10.0.0.0/8"},
                {"value": "10.0.0.300"},
                {"value": "::1", "expires_at": "soon"},
                {"value": "10.1.1.1", "colour": 1},
                "10.2.2.2",
                {"value": "10.3.3.3", "expires_at": "2030-01-01T00:00:00"},
                {"value": 7},
            ],
        },
    )
    assert r.status_code == 422
    assert [f for f, _ in _errors(r)] == [
        "entries[1].value",
        "entries[2].expires_at",
        "entries[3].colour",
        "entries[4]",
        "entries[5].expires_at",
        "entries[6].value",
    ]
    assert client.get("/v1/lists/ips/entries").json() == {"entries": []}
    for body, field in (
        ({"author": "ana", "entries": []}, "entries"),
        ({"author": "ana"}, "entries"),
        ({"entries": [{"value": "10.0.0.1"}]}, "author"),
        ({"author": "ana", "entries": [{"value": "10.0.0.1"}], "x": 1}, "x"),
    ):
        r = client.post("/v1/lists/ips/entries", json=body)
        assert r.status_code == 422 and _errors(r)[0][0] == field, r.text
    r = client.post("/v1/lists/nope/entries", json={"author": "a", "entries": [{"value": "1"}]})
    assert r.status_code == 404


def test_entries_are_stored_normalised_and_card_numbers_only_as_tokens(
    client: TestClient,
) -> None:
    _make_list(client, "cards", "card_token")
    r = client.post(
        "/v1/lists/cards/entries",
        json={
            "author": "ana",
            "entries": [
                {"value": PANS[0], "reason": "stolen", "expires_at": "2030-01-01T00:00:00+02:00"},
                {"value": "tok_client_1"},
            ],
        },
    )
    assert r.status_code == 201
    assert r.json() == {"list": "cards", "added": 2}
    entries = client.get("/v1/lists/cards/entries").json()["entries"]
    values = sorted(e["value"] for e in entries)
    assert len(values) == 2 and "tok_client_1" in values
    token = next(v for v in values if v != "tok_client_1")
    assert token.startswith("tok_") and PANS[0] not in token
    stolen = next(e for e in entries if e["value"] == token)
    assert (stolen["reason"], stolen["author"]) == ("stolen", "ana")
    assert datetime.fromisoformat(stolen["expires_at"]) == datetime.fromisoformat(
        "2030-01-01T00:00:00+02:00"
    )
    _make_list(client, "places", "country")
    client.post("/v1/lists/places/entries", json={"author": "a", "entries": [{"value": "de"}]})
    assert [e["value"] for e in client.get("/v1/lists/places/entries").json()["entries"]] == ["DE"]


def test_adding_an_entry_again_replaces_it(client: TestClient) -> None:
    _make_list(client, "places", "country")
    for reason in ("first", "second"):
        r = client.post(
            "/v1/lists/places/entries",
            json={"author": "ana", "entries": [{"value": "DE", "reason": reason}]},
        )
        assert r.status_code == 201
    entries = client.get("/v1/lists/places/entries").json()["entries"]
    assert [(e["value"], e["reason"]) for e in entries] == [("DE", "second")]


def test_the_same_value_twice_in_one_request_is_not_a_server_error(client: TestClient) -> None:
    """``de`` and ``DE`` normalise to one entry; the store must not fail on it (503)."""
    _make_list(client, "places", "country")
    r = client.post(
        "/v1/lists/places/entries",
        json={"author": "ana", "entries": [{"value": "de"}, {"value": "DE"}]},
    )
    assert r.status_code in (201, 422), r.text
    if r.status_code == 201:
        entries = client.get("/v1/lists/places/entries").json()["entries"]
        assert [e["value"] for e in entries] == ["DE"]
    else:
        assert _errors(r)[0][0] == "entries[1].value"


def test_entries_are_removed_by_value(client: TestClient) -> None:
    _make_list(client, "ips", "ip")
    client.post(
        "/v1/lists/ips/entries",
        json={"author": "ana", "entries": [{"value": "10.0.0.0/8"}, {"value": "192.0.2.1"}]},
    )
    r = client.post(
        "/v1/lists/ips/entries/remove",
        json={"author": "bo", "values": ["10.0.0.0/8", "192.0.2.1/32", "198.51.100.1"]},
    )
    assert r.status_code == 200
    assert r.json() == {"list": "ips", "removed": 2}
    assert client.get("/v1/lists/ips/entries").json() == {"entries": []}
    for body, field in (
        ({"author": "bo", "values": []}, "values"),
        ({"author": "bo", "values": ["10.0.0.300"]}, "values[0]"),
        ({"values": ["10.0.0.1"]}, "author"),
        ({"author": "bo", "values": ["10.0.0.1"], "entries": []}, "entries"),
    ):
        r = client.post("/v1/lists/ips/entries/remove", json=body)
        assert r.status_code == 422 and _errors(r)[0][0] == field, r.text
    removes = [e for e in _audit(client) if e["action"] == "list.entries.remove"]
    assert [(e["actor"], e["detail"]["count"]) for e in removes] == [("bo", 3)]
    # the body names bo; the request was made with the test client's key, which is recorded
    assert removes[0]["detail"]["authenticated_as"].startswith("key:")


def test_a_list_in_use_cannot_be_deleted(client: TestClient) -> None:
    _make_list(client, "bad_ips", "ip")
    client.post("/v1/lists/bad_ips/entries", json={"author": "a", "entries": [{"value": "::1"}]})
    rule = {**RULE, "id": "bad_ip", "expression": "lists.bad_ips", "action": "decline"}
    assert client.post("/v1/rules", json=rule).status_code == 201
    used = client.delete("/v1/lists/bad_ips", params={"author": "bo"})
    assert used.status_code == 409
    assert used.json()["error"]["code"] == "conflict"
    assert "bad_ip" in used.json()["error"]["message"]
    assert client.get("/v1/lists/bad_ips").status_code == 200
    assert len(client.get("/v1/lists/bad_ips/entries").json()["entries"]) == 1
    # a shadow rule still uses it; a disabled one does not
    client.post("/v1/rules/bad_ip/status", json={"status": "shadow", "author": "bo"})
    assert client.delete("/v1/lists/bad_ips", params={"author": "bo"}).status_code == 409
    client.post("/v1/rules/bad_ip/status", json={"status": "disabled", "author": "bo"})
    assert client.delete("/v1/lists/bad_ips").status_code == 422  # who deletes it?
    gone = client.delete("/v1/lists/bad_ips", params={"author": "bo"})
    assert gone.status_code == 200 and gone.json() == {"deleted": "bad_ips"}
    assert client.get("/v1/lists/bad_ips").status_code == 404
    assert client.delete("/v1/lists/bad_ips", params={"author": "bo"}).status_code == 404
    # re-enabling the rule now names the list it misses
    r = client.post("/v1/rules/bad_ip/status", json={"status": "active", "author": "bo"})
    assert r.status_code == 422 and _errors(r)[0][0] == "expression"
    deleted = [e for e in _audit(client) if e["action"] == "list.delete"]
    assert [(e["actor"], e["key"]) for e in deleted] == [("bo", "bad_ips")]


def test_a_blank_author_cannot_delete_a_list(client: TestClient) -> None:
    """Every other change refuses a blank author (``_author`` strips); so must delete."""
    _make_list(client, "bad_ips", "ip")
    r = client.delete("/v1/lists/bad_ips", params={"author": "   "})
    assert r.status_code == 422
    assert client.get("/v1/lists/bad_ips").status_code == 200


# -- policies -------------------------------------------------------------------------------


def test_a_policy_is_saved_versioned_and_read(client: TestClient) -> None:
    client.post("/v1/rules", json=RULE)
    r = client.post(
        "/v1/policies",
        json={**POLICY, "rules": ["velocity"], "thresholds": {"review": 0.5, "decline": 0.9}},
    )
    assert r.status_code == 201
    first = r.json()
    assert (first["version"], first["status"], first["rules"]) == (1, "active", ["velocity"])
    assert first["thresholds"] == {"review": 0.5, "challenge": None, "decline": 0.9}
    second = client.post("/v1/policies", json={**POLICY, "author": "bo", "mode": "first_match"})
    assert second.status_code == 201
    assert (second.json()["version"], second.json()["status"]) == (2, "active")
    versions = client.get("/v1/policies/cards").json()["versions"]
    assert [(v["version"], v["status"], v["author"]) for v in versions] == [
        (1, "shadow", "ana"),  # the previous active version steps aside
        (2, "active", "bo"),
    ]
    assert len(client.get("/v1/policies").json()["policies"]) == 2
    assert client.get("/v1/policies/nope").status_code == 404


@pytest.mark.parametrize(
    ("change", "field", "reason_part"),
    [
        ({"rules": ["nope"]}, "rules[0]", "unknown rule 'nope'"),
        ({"rules": ["velocity", "nope"]}, "rules[1]", "unknown rule"),
        ({"thresholds": {"review": 1.5}}, "thresholds.review", "from 0 to 1"),
        ({"thresholds": {"review": True}}, "thresholds.review", "from 0 to 1"),
        ({"thresholds": {"decline": 0.2, "review": 0.5}}, "thresholds.decline", "highest"),
        ({"thresholds": {"block": 0.5}}, "thresholds.block", "unknown threshold"),
        ({"event_types": ["wire"]}, "event_types[0]", "unknown event type"),
        ({"event_types": []}, "event_types", "non-empty"),
        ({"mode": "any"}, "mode", "most_severe or first_match"),
        ({"status": "paused"}, "status", "active, shadow or retired"),
        ({"allow_overrides_block": "yes"}, "allow_overrides_block", "true or false"),
        ({"author": ""}, "author", "who makes the change"),
        ({"priority": 1}, "priority", "unknown field"),
    ],
)
def test_a_bad_policy_is_422_naming_the_field(
    client: TestClient, change: dict[str, Any], field: str, reason_part: str
) -> None:
    client.post("/v1/rules", json=RULE)
    r = client.post("/v1/policies", json={**POLICY, **change})
    assert r.status_code == 422, r.text
    errors = _errors(r)
    assert errors[0][0] == field, errors
    assert reason_part in errors[0][1], errors
    assert client.get("/v1/policies/cards").status_code == 404
    assert [e["action"] for e in _audit(client)] == ["rule.create"]


def test_two_active_policies_for_one_event_type_conflict(client: TestClient) -> None:
    assert client.post("/v1/policies", json=POLICY).status_code == 201
    clash = client.post(
        "/v1/policies", json={**POLICY, "id": "other", "event_types": ["transfer", "card_payment"]}
    )
    assert clash.status_code == 409
    assert "cards@1" in clash.json()["error"]["message"]
    assert "card_payment" in clash.json()["error"]["message"]
    assert client.get("/v1/policies/other").status_code == 404
    shadow = client.post("/v1/policies", json={**POLICY, "id": "other", "status": "shadow"})
    assert shadow.status_code == 201  # a shadow beside the active one is fine
    activate = client.post(
        "/v1/policies/other/versions/1/status", json={"status": "active", "author": "bo"}
    )
    assert activate.status_code == 409
    transfers = client.post(
        "/v1/policies", json={**POLICY, "id": "wires", "event_types": ["transfer"]}
    )
    assert transfers.status_code == 201


def test_the_status_endpoint_activates_shadows_and_retires(client: TestClient) -> None:
    client.post("/v1/policies", json=POLICY)
    client.post("/v1/policies", json={**POLICY, "author": "bo"})

    def statuses() -> list[tuple[int, str]]:
        versions = client.get("/v1/policies/cards").json()["versions"]
        return [(v["version"], v["status"]) for v in versions]

    assert statuses() == [(1, "shadow"), (2, "active")]
    r = client.post(
        "/v1/policies/cards/versions/1/status",
        json={"status": "active", "author": "cy", "note": "roll back"},
    )
    assert r.status_code == 200
    assert (r.json()["version"], r.json()["status"]) == (1, "active")
    assert statuses() == [(1, "active"), (2, "shadow")]
    r = client.post(
        "/v1/policies/cards/versions/1/status", json={"status": "retired", "author": "cy"}
    )
    assert r.status_code == 200 and r.json()["status"] == "retired"
    assert statuses() == [(1, "retired"), (2, "shadow")]
    for version, body, status, field in (
        (1, {"status": "paused", "author": "cy"}, 422, "status"),
        (1, {"status": 3, "author": "cy"}, 422, "status"),
        (1, {"status": "active"}, 422, "author"),
        (1, {"status": "active", "author": "cy", "x": 1}, 422, "x"),
        (9, {"status": "active", "author": "cy"}, 404, None),
    ):
        r = client.post(f"/v1/policies/cards/versions/{version}/status", json=body)
        assert r.status_code == status, r.text
        if field:
            assert _errors(r)[0][0] == field
    r = client.post("/v1/policies/nope/versions/1/status", json={"status": "active", "author": "c"})
    assert r.status_code == 404
    assert statuses() == [(1, "retired"), (2, "shadow")]


# -- the audit chain ------------------------------------------------------------------------


def test_every_change_is_audited_with_its_author_in_a_chain(client: TestClient) -> None:
    steps: list[tuple[str, str, Any]] = [
        ("ana", "POST", ("/v1/lists", {"name": "ips", "kind": "block", "type": "ip"})),
        ("bo", "POST", ("/v1/lists/ips/entries", {"entries": [{"value": "192.0.2.1"}]})),
        ("cy", "POST", ("/v1/lists/ips/entries/remove", {"values": ["192.0.2.1"]})),
        ("di", "POST", ("/v1/rules", {k: v for k, v in RULE.items() if k != "author"})),
        ("ed", "POST", ("/v1/rules", {**RULE, "priority": 5})),
        ("fi", "POST", ("/v1/rules/velocity/status", {"status": "shadow"})),
        ("gu", "POST", ("/v1/policies", {k: v for k, v in POLICY.items() if k != "author"})),
        ("ha", "POST", ("/v1/policies", {**POLICY, "rules": ["velocity"]})),
        ("io", "POST", ("/v1/policies/cards/versions/2/status", {"status": "retired"})),
        ("jo", "DELETE", ("/v1/lists/ips", None)),
    ]
    for author, method, (path, body) in steps:
        if method == "DELETE":
            r = client.delete(path, params={"author": author})
        else:
            r = client.post(path, json={**body, "author": author})
        assert r.status_code in (200, 201), (path, r.text)
    # refusals change nothing and leave no entry
    assert client.post("/v1/rules", json={**RULE, "expression": "x"}).status_code == 422
    assert client.post("/v1/policies", json={**POLICY, "id": "b", "status": "x"}).status_code == 422

    entries = _audit(client)
    assert [(e["actor"], e["action"], e["kind"], e["key"]) for e in entries] == [
        ("ana", "list.create", "list", "ips"),
        ("bo", "list.entries.add", "list", "ips"),
        ("cy", "list.entries.remove", "list", "ips"),
        ("di", "rule.create", "rule", "velocity@1"),
        ("ed", "rule.update", "rule", "velocity@2"),
        ("fi", "rule.update", "rule", "velocity@3"),
        ("gu", "policy.create", "policy", "cards@1"),
        ("ha", "policy.create", "policy", "cards@2"),
        ("ha", "policy.demote", "policy", "cards"),
        ("io", "policy.retired", "policy", "cards@2"),
        ("jo", "list.delete", "list", "ips"),
    ]
    # seq 1 is the test client's key; each entry also names the key that made the request
    assert [e["seq"] for e in entries] == list(range(2, 13))
    assert all(e["detail"]["authenticated_as"].startswith("key:") for e in entries)
    chain = client.get("/v1/audit").json()["entries"]
    assert chain[0]["action"] == "apikey.create" and chain[0]["prev_hash"] == GENESIS
    for before, after in itertools.pairwise(chain):
        assert after["prev_hash"] == before["hash"]
    assert [_chain_hash(e) for e in chain] == [e["hash"] for e in chain]
    assert entries[4]["detail"]["previous"]["version"] == 1
    assert entries[4]["detail"]["rule"]["priority"] == 5
    assert {k: v for k, v in entries[8]["detail"].items() if k != "authenticated_as"} == {
        "versions": [1],
        "to": "shadow",
    }
    # paging: after a sequence number, at most limit entries
    assert _audit(client, after=10) == entries[9:]
    assert _audit(client, after=3, limit=3) == entries[2:5]
    assert _audit(client, after=12) == []
    assert client.get("/v1/audit", params={"limit": 0}).status_code == 422
