"""The HTTP API: POST /v1/events single and batch, contracts, health, error shapes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from riskloop.bootstrap import Riskloop
from riskloop.entrypoints.http import create_app
from tests.support.factories import PANS, card_payment, kyc_record, transfer
from tests.support.http import AdminClient, cli_key


@pytest.fixture
def client(any_rl: Riskloop) -> Iterator[TestClient]:
    with AdminClient(create_app(any_rl), raise_server_exceptions=False) as c:
        yield c


def test_accepts_an_event_then_recognises_it_as_duplicate(client: TestClient) -> None:
    event = card_payment()
    first = client.post("/v1/events", json=event)
    again = client.post("/v1/events", json=event)
    assert first.status_code == 201 and first.json()["status"] == "accepted"
    assert again.status_code == 200 and again.json()["status"] == "duplicate"


def test_stored_event_has_token_not_pan(client: TestClient) -> None:
    event = card_payment()
    client.post("/v1/events", json=event)
    body = client.get(f"/v1/events/{event['event_id']}").json()
    assert body["data"]["card"]["token"].startswith("tok_")
    assert body["data"]["card"]["bin"] == PANS[0][:8]
    assert "pan" not in body["data"]["card"] and "email" not in body["data"]
    assert body["pii_sealed"] is True
    assert PANS[0] not in client.get(f"/v1/events/{event['event_id']}").text


def test_reused_id_with_a_different_body_is_409(client: TestClient) -> None:
    event = card_payment()
    client.post("/v1/events", json=event)
    resp = client.post("/v1/events", json={**event, "amount": 1})
    assert resp.status_code == 409
    assert resp.json()["error"]["code"] == "conflict"


def test_batch_is_stored_whole(client: TestClient, any_rl: Riskloop) -> None:
    batch = [card_payment(), transfer(), kyc_record()]
    resp = client.post("/v1/events", json={"events": batch})
    assert resp.status_code == 201
    assert resp.json()["accepted"] == 3
    assert [r["event_id"] for r in resp.json()["results"]] == [e["event_id"] for e in batch]
    assert any_rl.events.count() == 3


def test_batch_with_one_bad_event_is_rejected_whole_naming_its_index(
    client: TestClient, any_rl: Riskloop
) -> None:
    resp = client.post(
        "/v1/events", json={"events": [card_payment(), card_payment(currency="EURO")]}
    )
    assert resp.status_code == 422
    assert resp.json()["error"]["errors"][0]["field"] == "events[1].currency"
    assert any_rl.events.count() == 0


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        (card_payment(amount=12.5), "amount", "integer"),
        (card_payment(occurred_at="2026-11-01T12:00:00"), "occurred_at", "timezone"),
        (card_payment(card={"pan": "4111111111111112"}), "card.pan", "Luhn"),
        (card_payment(card={"pan": PANS[0], "cvv": "123"}), "card.cvv", "never be sent"),
        (card_payment(color="red"), "color", "unknown field"),
        ({**card_payment(), "event_type": "payment"}, "event_type", "unknown event type"),
        ([1, 2], "", "JSON object"),
        ({"events": "nope"}, "events", "expected"),
        ({"events": []}, "events", "empty batch"),
    ],
)
def test_bad_input_is_422_naming_the_field(
    client: TestClient, body: object, field: str, reason: str
) -> None:
    resp = client.post("/v1/events", json=body)
    assert resp.status_code == 422, resp.text
    err = resp.json()["error"]
    assert err["errors"][0]["field"] == field
    assert reason in err["errors"][0]["reason"]


def test_error_messages_never_echo_a_card_number(client: TestClient) -> None:
    resp = client.post("/v1/events", json=card_payment(**{PANS[1]: "x"}))
    assert resp.status_code == 422
    assert PANS[1] not in resp.text
    assert "555555******4444" in resp.text


def test_invalid_json_and_oversized_bodies(client: TestClient, any_rl: Riskloop) -> None:
    bad = client.post(
        "/v1/events", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert bad.status_code == 422 and bad.json()["error"]["errors"][0]["field"] == "body"
    big = b"[" + b"0," * any_rl.settings.max_body_bytes + b"0]"
    assert client.post("/v1/events", content=big).status_code == 413


def test_too_many_events_in_a_batch(client: TestClient, any_rl: Riskloop) -> None:
    n = any_rl.settings.max_batch + 1
    resp = client.post("/v1/events", json={"events": [{}] * n})
    assert resp.status_code == 422
    assert "at most" in resp.json()["error"]["errors"][0]["reason"]


def test_unknown_event_is_404(client: TestClient) -> None:
    resp = client.get("/v1/events/nope")
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found"


def test_contracts_are_listed_and_exported_as_json_schema(client: TestClient) -> None:
    listed = client.get("/v1/contracts").json()["contracts"]
    assert {c["event_type"] for c in listed} == {
        "card_payment",
        "transfer",
        "login",
        "account_change",
        "challenge_result",
        "kyc_record",
        "credit_application",
        "dispute",
        "ledger_entry",
        "label",
    }
    by_type = {c["event_type"]: c for c in listed}
    assert (by_type["login"]["retention_days"], by_type["login"]["retention_action"]) == (
        365,
        "delete",
    )
    assert by_type["card_payment"]["retention_action"] == "anonymise"
    schema = client.get("/v1/contracts/transfer").json()
    assert schema["x-owner"] == "payments-risk" and schema["x-version"] == 1
    assert "payee" in schema["properties"]
    assert client.get("/v1/contracts/nope").status_code == 404
    assert client.get("/v1/contracts/transfer?version=9").status_code == 404


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_serve_runs_in_embedded_mode_with_no_other_service(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKLOOP_")}
    env.update(RISKLOOP_DATA_DIR=str(tmp_path / "data"), RISKLOOP_PORT=str(port))
    exe = Path(sys.executable).with_name("riskloop")
    proc = subprocess.Popen([str(exe), "serve"], env=env, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("server did not become ready")
        event = card_payment()
        assert httpx.post(f"{url}/v1/events", json=event).status_code == 401
        auth = {"Authorization": f"Bearer {cli_key(env)}"}
        assert httpx.post(f"{url}/v1/events", json=event, headers=auth).status_code == 201
        assert (tmp_path / "data" / "riskloop.db").exists()
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=10)
    assert PANS[0] not in stderr
