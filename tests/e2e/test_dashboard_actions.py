"""What people do through the dashboard, over HTTP as htmx sends it: sign in with password
and TOTP (and be refused generically), sign out, resolve a case in one click, work a case,
edit and backtest a rule, keep lists, policies, tasks and screening hits."""

from __future__ import annotations

import time
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import pyotp
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from riskloop.bootstrap import Riskloop
from riskloop.entrypoints.http import create_app
from tests.browser.seed import PASSWORD, RULE_LARGE, add_user, seed, sign_in
from tests.support.factories import kyc_record

HTMX = {"HX-Request": "true"}


@pytest.fixture
def app(rl: Riskloop) -> FastAPI:
    return create_app(rl, follow_every_s=3600)


@pytest.fixture
def world(rl: Riskloop) -> dict[str, Any]:
    return seed(rl)


def _signed_in(app: FastAPI, rl: Riskloop, role: str) -> TestClient:
    client = TestClient(app)
    client.headers.update({"X-CSRF-Token": sign_in(client, rl, role), **HTMX})
    return client


def _rule_form(**changes: str) -> dict[str, Any]:
    form: dict[str, Any] = {k: v for k, v in RULE_LARGE.items() if k != "event_types"}
    form.update(event_types="card_payment", status="active", priority="100")
    form.update(changes)
    return form


def test_sign_in_with_password_and_code_sets_a_strict_session_cookie(
    rl: Riskloop, app: FastAPI
) -> None:
    client = TestClient(app)
    name, secret = add_user(rl, "analyst")
    form = {"username": name, "password": PASSWORD, "code": pyotp.TOTP(secret).now()}
    r = client.post("/login", data={**form, "next": "/queue?status=open"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/queue?status=open"
    cookie = SimpleCookie(r.headers["set-cookie"])["riskloop_session"]
    assert cookie["httponly"] and cookie["samesite"] == "strict" and cookie["path"] == "/"
    assert 7 * 3600 < int(cookie["max-age"]) <= 8 * 3600
    assert not cookie["secure"]  # plain http in tests; https sets it
    page = client.get("/queue")
    assert page.status_code == 200 and name in page.text


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example", "/\\evil", "x"])
def test_after_sign_in_only_local_paths_are_followed(
    rl: Riskloop, app: FastAPI, target: str
) -> None:
    name, secret = add_user(rl, "analyst")
    form = {"username": name, "password": PASSWORD, "code": pyotp.TOTP(secret).now()}
    r = TestClient(app).post("/login", data={**form, "next": target}, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/")


def test_a_wrong_code_or_password_is_refused_without_saying_which(
    rl: Riskloop, app: FastAPI
) -> None:
    client = TestClient(app)
    name, secret = add_user(rl, "analyst")
    good = pyotp.TOTP(secret).now()
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    texts = []
    for form in (
        {"username": name, "password": PASSWORD, "code": wrong},
        {"username": name, "password": "not the password", "code": good},
        {"username": "nobody-here", "password": PASSWORD, "code": good},
    ):
        r = client.post("/login", data=form, follow_redirects=False)
        assert r.status_code == 401 and "set-cookie" not in r.headers
        texts.append(r.text.split('id="login-error">')[1].split("<")[0])
    assert len(set(texts)) == 1 and "username, password and code" in texts[0]
    assert (
        client.get("/queue", headers={"Accept": "text/html"}, follow_redirects=False).status_code
        == 303
    )
    for _ in range(3):  # five failures in all lock the username for a while
        client.post("/login", data={"username": name, "password": "x" * 12, "code": wrong})
    r = client.post("/login", data={"username": name, "password": PASSWORD, "code": good})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


def test_a_cross_site_login_post_is_refused(rl: Riskloop, app: FastAPI) -> None:
    name, secret = add_user(rl, "analyst")
    form = {"username": name, "password": PASSWORD, "code": pyotp.TOTP(secret).now()}
    r = TestClient(app).post("/login", data=form, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and "set-cookie" not in r.headers


def test_sign_out_ends_the_session(rl: Riskloop, app: FastAPI) -> None:
    client = _signed_in(app, rl, "analyst")
    r = client.post("/logout")
    assert r.status_code == 204 and r.headers["HX-Redirect"] == "/login"
    assert (
        'riskloop_session=""' in r.headers["set-cookie"] or "Max-Age=0" in r.headers["set-cookie"]
    )
    again = client.get("/queue", headers={"Accept": "text/html"}, follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"].startswith("/login?next=")


def test_dashboard_posts_need_the_csrf_token(rl: Riskloop, app: FastAPI, world: Any) -> None:
    client = _signed_in(app, rl, "analyst")
    case_id = rl.cases.search(status=["open"], limit=1)[0].case_id
    del client.headers["X-CSRF-Token"]
    r = client.post(f"/cases/{case_id}/resolve", data={"resolution": "fraud"})
    assert r.status_code == 403
    assert rl.cases.get(case_id).status.value == "open"


def test_one_click_resolution_from_the_queue(rl: Riskloop, app: FastAPI, world: Any) -> None:
    client = _signed_in(app, rl, "analyst")
    queue = client.get("/queue").text
    case = rl.cases.search(status=["open"], limit=1)[0]
    assert f'id="row-{case.case_id}"' in queue
    form = {"resolution": "fraud", "from": "queue", "version": str(case.version)}
    r = client.post(f"/cases/{case.case_id}/resolve", data=form)
    assert r.status_code == 200 and 'hx-swap-oob="innerHTML"' in r.text
    assert "confirmed fraud" in r.text
    done = rl.cases.get(case.case_id)
    assert (done.status.value, done.resolution.value if done.resolution else None) == (
        "resolved",
        "fraud",
    )
    assert done.body["resolved_by"].startswith("analyst-")  # the signed-in user acted
    assert f'id="row-{case.case_id}"' not in client.get("/queue").text
    again = client.post(f"/cases/{case.case_id}/resolve", data=form)  # stale: a 409 message
    assert again.status_code == 409 and again.headers["HX-Retarget"] == "#flash"


def test_working_a_case_from_its_page(rl: Riskloop, app: FastAPI, world: Any) -> None:
    ana = _signed_in(app, rl, "analyst")
    case_id = rl.cases.search(status=["open"], limit=1)[0].case_id
    assert ana.post(f"/cases/{case_id}/claim").headers["HX-Redirect"] == f"/cases/{case_id}"
    assert "Release back to the queue" in ana.get(f"/cases/{case_id}").text
    r = ana.post(f"/cases/{case_id}/notes", data={"note": "called the customer"})
    assert r.status_code == 204
    r = ana.post(f"/cases/{case_id}/resolve", data={"resolution": "not_fraud", "note": "genuine"})
    assert r.status_code == 204
    page = ana.get(f"/cases/{case_id}").text
    assert "called the customer" in page and "Genuine" in page
    assert ana.post(f"/cases/{case_id}/notes", data={"note": ""}).status_code == 422
    assert ana.post(f"/cases/{case_id}/resolve", data={"resolution": "maybe"}).status_code == 422


def test_edit_validate_save_and_backtest_a_rule(rl: Riskloop, app: FastAPI, world: Any) -> None:
    rita = _signed_in(app, rl, "risk_admin")
    bad = rita.post("/rules/validate", data=_rule_form(expression='event.amount > "5"'))
    assert bad.status_code == 200 and "Not valid" in bad.text and "line 1" in bad.text
    ok = rita.post("/rules/validate", data=_rule_form(expression="event.amount > 200000"))
    assert "Valid for card_payment" in ok.text
    r = rita.post("/rules", data=_rule_form(expression='event.amount > "5"'))
    assert r.status_code == 422 and r.headers["HX-Retarget"] == "#save-result"
    r = rita.post("/rules", data=_rule_form(expression="event.amount > 200000", note="fewer"))
    assert r.status_code == 200 and "version 2" in r.text
    saved = rl.catalog.rule("large_amount")
    assert (saved.version, saved.expression) == (2, "event.amount > 200000")
    assert saved.author.startswith("risk-admin-")
    r = rita.post("/backtests", data=_rule_form(expression="event.amount > 1", days="1"))
    assert r.status_code == 200
    backtest_id = r.text.split('id="bt-')[1].split('"')[0]
    for _ in range(100):
        r = rita.get(f"/backtests/{backtest_id}")
        if "running" not in r.text:
            break
        time.sleep(0.05)
    assert "done" in r.text and "decisions replayed" in r.text, r.text


def test_lists_policies_and_tasks(rl: Riskloop, app: FastAPI, world: dict[str, Any]) -> None:
    sam = _signed_in(app, rl, "admin")
    r = sam.post("/lists/blocked_devices/entries", data={"value": "dev-2", "reason": "<b>ring</b>"})
    assert r.status_code == 204
    page = sam.get("/lists/blocked_devices").text
    assert "dev-2" in page and "&lt;b&gt;ring" in page
    assert (
        sam.post("/lists/blocked_devices/entries/remove", data={"value": "dev-2"}).status_code
        == 204
    )
    assert "dev-2" not in sam.get("/lists/blocked_devices").text
    assert sam.post("/lists/blocked_devices/entries", data={"value": ""}).status_code == 422
    r = sam.post("/policies/cards/1/status", data={"status": "shadow"})
    assert r.status_code == 204
    assert rl.catalog.policy_versions("cards")[0].status.value == "shadow"
    task = world["task"]
    r = sam.post(f"/tasks/{task.id}/status", data={"status": "in_progress", "version": "1"})
    assert r.status_code == 200 and "in_progress" in r.text
    assert rl.tasks.get(task.id).owner is not None
    assert (
        sam.post(
            f"/tasks/{task.id}/status", data={"status": "in_progress", "version": "1"}
        ).status_code
        == 409
    )
    assert sam.post("/tasks/abc/status", data={"status": "done"}).status_code == 422


def test_resolving_a_screening_hit(rl: Riskloop, app: FastAPI, tmp_path: Path) -> None:
    root = tmp_path / "ofac"
    root.mkdir()
    sdn = '7001,"PETROV, Ivan Sergeyevich","individual","RUSSIA-EO14024",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,"DOB 12 Mar 1970."'
    (root / "sdn.csv").write_text(sdn + "\n", encoding="latin-1")
    (root / "alt.csv").write_text("", encoding="latin-1")
    (root / "add.csv").write_text("", encoding="latin-1")
    rl.screening.load(root, actor="compliance")
    person = {"first_name": "Ivan", "last_name": "Petrov", "date_of_birth": "1970-03-12"}
    rl.ingestor.ingest(kyc_record(customer_id="cus-petrov", person=person))
    rl.kyc.sync()
    hit = rl.screening.hits(status="open")[0]
    cora = _signed_in(app, rl, "compliance")
    assert "PETROV" in cora.get("/screening").text
    r = cora.post(f"/screening/hits/{hit.id}/resolve", data={"verdict": "false_positive"})
    assert r.status_code == 422 and "note" in r.text  # not-a-match needs a reason
    r = cora.post(
        f"/screening/hits/{hit.id}/resolve",
        data={"verdict": "false_positive", "note": "DOB differs"},
    )
    assert r.status_code == 200 and "false_positive" in r.text
    assert rl.screening.hits(status="false_positive")[0].resolved_by.startswith("compliance-")
    analyst = _signed_in(app, rl, "analyst")
    assert "/resolve" not in analyst.get("/screening?status=open").text
