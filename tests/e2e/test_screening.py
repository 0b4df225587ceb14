"""Screening as compliance teams use it: load a list (a new version with its diff), search a
name over HTTP and the CLI, screen the payee inside a decision, screen customers from their
KYC records, work a hit (not a match: suppressed until the entry changes), re-screen when
the list changes, and raise tasks for hits and due KYC reviews."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from riskloop.bootstrap import Riskloop, build
from riskloop.config import Settings
from riskloop.entrypoints.cli import app as cli
from riskloop.entrypoints.http import create_app
from tests.support.factories import kyc_record, next_id, transfer
from tests.support.http import AdminClient

SDN = [
    '36,"AEROCARIBBEAN AIRLINES",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ',
    '7001,"PETROV, Ivan Sergeyevich","individual","RUSSIA-EO14024",-0- ,-0- ,-0- ,-0- ,-0- ,'
    '-0- ,-0- ,"DOB 12 Mar 1970; nationality Russia; Passport 7512345678 (Russia)."',
    '7002,"NORTHWIND MARITIME TRADING LLC",-0- ,"IRAN",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ',
]
ALT = ['7001,9001,"aka","PETROV, Ivan",-0- ']
ADD = ['7002,8001,-0- ,"Bandar Abbas","Iran",-0- ']
RULE = {
    "id": "sanctioned_payee",
    "expression": "screening.sanctions",
    "action": "review",
    "reason": "SANCTIONS_MATCH",
    "event_types": ["transfer", "kyc_record"],
    "author": "compliance",
}


def write_ofac(root: Path, sdn: list[str], alt: list[str] = ALT, add: list[str] = ADD) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "sdn.csv").write_text("\n".join(sdn) + "\n", encoding="latin-1")
    (root / "alt.csv").write_text("\n".join(alt) + "\n", encoding="latin-1")
    (root / "add.csv").write_text("\n".join(add) + "\n", encoding="latin-1")
    return root


@pytest.fixture(autouse=True)
def _cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI reads the environment: point it at this test's data directory."""
    monkeypatch.setenv("RISKLOOP_DATA_DIR", str(settings.data_dir))


@pytest.fixture
def client(rl: Riskloop) -> Iterator[TestClient]:
    with AdminClient(create_app(rl), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def listed(rl: Riskloop, tmp_path: Path) -> Path:
    """Version 1 of a small OFAC-format list, loaded."""
    root = write_ofac(tmp_path / "ofac", SDN)
    result = rl.screening.load(root, actor="compliance")
    assert (result.source, result.version, result.entries) == ("ofac_sdn", 1, 3)
    return root


def _errors(r: Any) -> list[str]:
    assert r.status_code == 422, r.text
    return [e["field"] for e in r.json()["error"]["errors"]]


def _person(customer: str, first: str, last: str, **extra: Any) -> dict[str, Any]:
    person = {"first_name": first, "last_name": last, **extra}
    return kyc_record(customer_id=customer, person=person)


# -- lists, search ---------------------------------------------------------------------------


def test_load_search_over_cli_and_http(rl: Riskloop, client: TestClient, tmp_path: Path) -> None:
    root = write_ofac(tmp_path / "ofac", SDN)
    runner = CliRunner()
    loaded = runner.invoke(cli, ["lists", "load", str(root), "--author", "ana"])
    assert loaded.exit_code == 0, loaded.output
    doc = json.loads(loaded.stdout)
    assert (doc["version"], doc["changed"], doc["diff"]["added"]) == (1, True, 3)
    again = runner.invoke(cli, ["lists", "load", str(root), "--author", "ana"])
    assert json.loads(again.stdout)["changed"] is False  # same content: no new version

    found = runner.invoke(cli, ["screen", "Ivan Petrov", "--json"])
    assert found.exit_code == 3, found.output  # an alert
    top = json.loads(found.stdout)["matches"][0]
    assert (top["source"], top["entry_id"], top["alert"]) == ("ofac_sdn", "7001", True)
    nobody = runner.invoke(cli, ["screen", "Jane Smith"])
    assert nobody.exit_code == 0, nobody.output

    r = client.post(
        "/v1/screening/search",
        json={"name": "Иван Петров", "date_of_birth": "1970", "country": "ru"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    best = body["matches"][0]
    assert best["entry_id"] == "7001" and best["alert"] is True
    assert best["explanation"] and 0.7 <= best["score"] <= 1.0
    assert body["thresholds"] == {"alert": 0.7, "ignore": 0.5}
    assert body["lists"] == {"ofac_sdn": 1}
    # A conflicting date of birth lowers the score.
    other = client.post(
        "/v1/screening/search", json={"name": "Ivan Petrov", "date_of_birth": "1991"}
    )
    assert other.json()["matches"][0]["score"] < best["score"]

    lists = client.get("/v1/screening/lists").json()
    assert lists["current"] == {"ofac_sdn": 1} and lists["lists"][0]["diff"]["added"] == 3
    assert list(rl.catalog.store.audit().iterate())[-1].action == "screening.list.load"


def test_bad_search_and_list_input_name_the_field(
    rl: Riskloop, client: TestClient, listed: Path, tmp_path: Path
) -> None:
    assert _errors(client.post("/v1/screening/search", json={"name": ""})) == ["name"]
    assert _errors(client.post("/v1/screening/search", json={"name": "x", "country": "Iran"})) == [
        "country"
    ]
    assert _errors(client.post("/v1/screening/search", json={"name": "x", "dob": "1970"})) == [
        "dob"
    ]
    assert _errors(
        client.post("/v1/screening/search", json={"name": "x", "date_of_birth": "12/03/1970"})
    ) == ["date_of_birth"]
    assert _errors(client.post("/v1/screening/search", json={"name": "x", "limit": 0})) == ["limit"]
    assert client.post("/v1/screening/search", content=b"[").status_code == 422

    # A broken list file saves nothing and says where.
    bad = tmp_path / "bad" / "sdn.csv"
    bad.parent.mkdir()
    bad.write_text('7001,"PETROV, Ivan"\n"unterminated\n')
    result = CliRunner().invoke(cli, ["lists", "load", str(bad.parent)])
    assert result.exit_code == 2, result.output
    assert "sdn.csv" in result.output
    assert rl.screening.versions() == {"ofac_sdn": 1}
    missing = CliRunner().invoke(cli, ["lists", "load", str(bad.parent), "--format", "xls"])
    assert missing.exit_code == 2 and "--format" in missing.output


# -- inside a decision -------------------------------------------------------------------------


def test_a_transfer_to_a_listed_payee_goes_to_review(
    rl: Riskloop, client: TestClient, listed: Path
) -> None:
    rl.catalog.save_rule(RULE)
    rl.catalog.save_policy({"id": "transfers", "event_types": ["transfer"], "author": "ana"})
    rl.catalog.refresh(force=True)

    payee = {"name": "Ivan Petrov", "kind": "individual", "iban": "DE89370400440532013000"}
    r = client.post("/v1/decisions", json=transfer(payee=payee))
    assert r.status_code == 201, r.text
    d = r.json()
    assert d["outcome"] == "review" and d["reasons"][0] == "SANCTIONS_MATCH"
    (hit,) = [n for n in d["screening"] if n["alert"]]
    assert (hit["field"], hit["source"], hit["entry_id"]) == ("payee.name", "ofac_sdn", "7001")
    assert "latency_us" in d and "screening" in d["latency_us"]
    # The record keeps the list's side only: the payee's name stays sealed.
    stored = rl.ledger.get(d["decision_id"])
    assert stored is not None and stored.screening is not None
    assert "Ivan Petrov" not in json.dumps(stored.as_dict())

    clean = client.post(
        "/v1/decisions",
        json=transfer(payee={"name": "Jane Smith", "iban": "DE89370400440532013000"}),
    ).json()
    assert clean["outcome"] == "approve" and clean["screening"] == []
    # A payee name the contract accepts but nothing can match on is decided, not refused.
    dash = client.post(
        "/v1/decisions", json=transfer(payee={"name": "-", "iban": "DE89370400440532013000"})
    )
    assert dash.status_code == 201 and dash.json()["screening"] is None

    # Not a match is per party: this payee (by its id) is not the listed Ivan Petrov...
    known = {**payee, "id": "payee-77"}
    rl.screening.suppress("payee:payee-77", "ofac_sdn", "7001", note="our landlord", author="ana")
    d = client.post("/v1/decisions", json=transfer(payee=known, customer_id="cus-1")).json()
    assert d["outcome"] == "approve" and d["screening"][0]["suppressed"] is True
    # ...and a customer's own not-a-match never covers the payees they pay.
    rl.screening.suppress("cus-1", "ofac_sdn", "7001", note="customer is not him", author="ana")
    other = {**payee, "id": "payee-78"}
    d = client.post("/v1/decisions", json=transfer(payee=other, customer_id="cus-1")).json()
    assert d["outcome"] == "review" and d["screening"][0]["suppressed"] is False


# -- continuous monitoring ---------------------------------------------------------------------


def test_customers_are_screened_rescreened_and_hits_worked(
    rl: Riskloop, client: TestClient, listed: Path, tmp_path: Path
) -> None:
    events = [
        _person("cus-petrov", "Ivan", "Petrov", date_of_birth="1970-03-12", nationality="RU"),
        _person("cus-maria", "Maria", "Gonzalez"),
        kyc_record(
            customer_id="cus-northwind",
            subject="business",
            person=None,
            business={
                "legal_name": "Northwind Maritime Trading",
                "registration_number": "IR-55",
                "country": "IR",
            },
        ),
    ]
    for e in events:
        assert client.post("/v1/events", json=e).status_code in (200, 201, 202)
    report = rl.kyc.sync()
    assert report.applied == 3 and report.screening is not None
    assert report.screening.new_hits == 2 and report.screening.tasks == 2

    hits = {
        h["customer_id"]: h for h in client.get("/v1/screening/hits?status=open").json()["hits"]
    }
    assert set(hits) == {"cus-petrov", "cus-northwind"}
    assert hits["cus-petrov"]["entry_id"] == "7001" and hits["cus-petrov"]["task_id"]
    profile = client.get("/v1/kyc/cus-petrov").json()
    assert profile["sanctions_status"] == "potential_match"
    assert "Petrov" not in json.dumps(profile)  # the subject stays sealed
    tasks = rl.tasks.list(kind="screening_hit")
    assert {t.key for t in tasks} == {"screening:cus-petrov", "screening:cus-northwind"}

    # Not a match: suppressed for this customer, with the note sealed.
    petrov_hit = hits["cus-petrov"]["id"]
    bad = client.post(
        f"/v1/screening/hits/{petrov_hit}/resolve",
        json={"verdict": "false_positive", "actor": "ana"},
    )
    assert _errors(bad) == ["note"]
    r = client.post(
        f"/v1/screening/hits/{petrov_hit}/resolve",
        json={"verdict": "false_positive", "note": "born 1982, different person", "actor": "ana"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "false_positive"
    assert client.get("/v1/kyc/cus-petrov").json()["sanctions_status"] == "clear"
    twice = client.post(
        f"/v1/screening/hits/{petrov_hit}/resolve", json={"verdict": "confirmed", "actor": "ana"}
    )
    assert twice.status_code == 422
    (supp,) = client.get("/v1/screening/suppressions?customer_id=cus-petrov").json()["suppressions"]
    assert supp["note"] is None  # sealed over HTTP
    assert rl.screening.suppressions("cus-petrov", reveal=True)[0]["note"].startswith("born 1982")
    assert rl.screening.rescreen(full=True).new_hits == 0  # suppressed, not raised again

    # Version 2: 7001 changes (a new alias), Maria Gonzalez is listed, Northwind delisted.
    sdn2 = [
        SDN[0],
        SDN[1],
        '7003,"GONZALEZ, Maria",individual,"SDNTK",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ',
    ]
    alt2 = [*ALT, '7001,9002,"aka","PETROFF, Ivan",-0- ']
    loaded = rl.screening.load(write_ofac(tmp_path / "v2", sdn2, alt2, []), actor="ana")
    assert loaded.version == 2
    assert (loaded.diff["added"], loaded.diff["removed"], loaded.diff["changed"]) == (1, 1, 1)
    assert loaded.closed_hits == 1  # Northwind's open hit: the entry left the list
    again = rl.screening.rescreen()
    assert (again.screened, again.full) == (3, 0)  # only the change was searched
    assert again.new_hits == 2  # Maria, and Petrov again: the entry changed, so did the answer
    open_now = {h.customer_id for h in rl.screening.hits(status="open")}
    assert open_now == {"cus-petrov", "cus-maria"}
    assert rl.screening.rescreen().screened == 0  # everyone is up to date
    # The first task was done when its only hit was resolved; the new hit opened another.
    petrov = [t for t in rl.tasks.list(kind="screening_hit") if t.key == "screening:cus-petrov"]
    assert sorted(t.status.value for t in petrov) == ["done", "open"]

    actions = [e.action for e in rl.catalog.store.audit().iterate()]
    assert actions.count("screening.list.load") == 2
    assert "screening.suppress" in actions and "screening.hit.false_positive" in actions


def test_suppressions_refuse_bad_input(rl: Riskloop, client: TestClient, listed: Path) -> None:
    base = {"customer_id": "cus-1", "source": "ofac_sdn", "entry_id": "7001", "actor": "ana"}
    assert _errors(client.post("/v1/screening/suppressions", json={**base, "note": " "})) == [
        "note"
    ]
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    assert _errors(
        client.post("/v1/screening/suppressions", json={**base, "note": "x", "expires_at": past})
    ) == ["expires_at"]
    missing = client.post(
        "/v1/screening/suppressions", json={**base, "entry_id": "nope", "note": "x"}
    )
    assert missing.status_code == 404
    ok = client.post("/v1/screening/suppressions", json={**base, "note": "not him"})
    assert ok.status_code == 201, ok.text
    sid = ok.json()["id"]
    assert (
        client.post(f"/v1/screening/suppressions/{sid}/revoke", json={"actor": "ana"}).status_code
        == 200
    )
    assert (
        client.post(f"/v1/screening/suppressions/{sid}/revoke", json={"actor": "ana"}).status_code
        == 422
    )
    assert client.get("/v1/screening/hits?status=maybe").status_code == 422


def test_due_kyc_reviews_become_tasks_once(rl: Riskloop, client: TestClient) -> None:
    old = datetime.now(UTC) - timedelta(days=400)
    high = kyc_record(
        event_id=next_id(), customer_id="cus-high", risk_rating="high", occurred_at=old.isoformat()
    )
    low = kyc_record(
        event_id=next_id(), customer_id="cus-low", risk_rating="low", occurred_at=old.isoformat()
    )
    given = kyc_record(customer_id="cus-given", next_review_on="2020-01-01")
    for e in (high, low, given):
        assert client.post("/v1/events", json=e).status_code in (200, 201, 202)
    rl.kyc.sync()
    due = rl.kyc.due_reviews()
    assert {p.customer_id for p in due} == {"cus-high", "cus-given"}
    rl.kyc.due_reviews()
    tasks = rl.tasks.list(kind="review")
    assert len(tasks) == 2 and {t.occurrences for t in tasks} == {2}
    listed = client.get("/v1/kyc?due_within_days=0").json()["profiles"]
    assert {p["customer_id"] for p in listed} == {"cus-high", "cus-given"}
    assert client.get("/v1/kyc?sanctions_status=bogus").status_code == 422
    assert client.get("/v1/kyc/cus-nobody").status_code == 404
    # An older record arriving late does not overwrite the newer profile.
    late = kyc_record(
        customer_id="cus-high", risk_rating="low", occurred_at=(old - timedelta(days=1)).isoformat()
    )
    client.post("/v1/events", json=late)
    rl.kyc.sync()
    assert client.get("/v1/kyc/cus-high").json()["risk_rating"] == "high"


def test_a_server_picks_up_a_list_loaded_elsewhere_without_stalling(
    rl: Riskloop, client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    """The server built its (empty) index at start-up; a list loaded by another process is
    built in the background while decisions go on, then used."""
    rl.catalog.save_rule(RULE)
    rl.catalog.save_policy({"id": "transfers", "event_types": ["transfer"], "author": "ana"})
    rl.catalog.refresh(force=True)
    rl.screening.refresh_seconds = 0.05
    payee = {"name": "Ivan Petrov", "iban": "DE89370400440532013000"}
    before = client.post("/v1/decisions", json=transfer(payee=payee)).json()
    assert before["screening"] is None and before["outcome"] == "approve"  # no list yet

    other = build(settings)  # another process: `riskloop lists load`
    try:
        other.screening.load(write_ofac(tmp_path / "ofac", SDN), actor="ana")
    finally:
        other.close()
    deadline = time.monotonic() + 30
    while True:
        d = client.post("/v1/decisions", json=transfer(payee=payee)).json()
        if d["screening"] is not None or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert d["outcome"] == "review" and d["screening"][0]["entry_id"] == "7001"
