"""Authentication and roles over HTTP: nothing but the health checks answers without
credentials; each role can do exactly what its permissions say, route by route; API keys
are scoped, expire, rotate and revoke; sessions need their CSRF token; logins are limited."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select

from riskloop.access import ROLES
from riskloop.adapters.sql.schema import api_keys, users
from riskloop.bootstrap import Riskloop, build
from riskloop.config import Settings
from riskloop.entrypoints.http import create_app
from riskloop.entrypoints.http.authz import AUTHENTICATED, OPEN
from riskloop.errors import AuthFailed, RateLimited

PASSWORD = "correct horse battery"


def _routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) the app serves, through included routers."""
    found: set[tuple[str, str]] = set()

    def walk(routes: list[Any]) -> None:
        for r in routes:
            original = getattr(r, "original_router", None)
            if original is not None:
                walk(original.routes)
            elif isinstance(r, APIRoute):
                found.update((m, r.path) for m in r.methods if m != "HEAD")

    walk(app.router.routes)
    return sorted(found)


def _fill(path: str) -> str:
    path = path.replace("{key_id}", "0" * 16)
    return re.sub(r"\{[^}]+\}", "1", path)


@pytest.fixture
def app(rl: Riskloop) -> FastAPI:
    return create_app(rl, follow_every_s=3600)


@pytest.fixture
def anon(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def _login(rl: Riskloop, client: TestClient, username: str, role: str) -> str:
    secret = rl.access.add_user(username, role, PASSWORD, actor="tests")
    result = rl.access.login(username, PASSWORD, pyotp.TOTP(secret).now(), client="test")
    client.cookies.set("riskloop_session", result.session_token)
    return result.csrf_token


def _permissions(app: FastAPI) -> dict[tuple[str, str], str]:
    dep = app.router.dependencies[0].dependency
    assert dep is not None
    table: dict[tuple[str, str], str] = dep.__closure__[0].cell_contents  # type: ignore[attr-defined]
    return table


def test_every_route_declares_a_permission(app: FastAPI) -> None:
    table = _permissions(app)
    missing = [r for r in _routes(app) if r not in table]
    assert missing == []
    open_routes = sorted(r for r, p in table.items() if p == OPEN)
    login = [("GET", "/login"), ("POST", "/login")]  # the dashboard's login form
    assert open_routes == sorted([("GET", "/healthz"), ("GET", "/readyz"), *login])


def test_nothing_but_health_answers_without_credentials(app: FastAPI, anon: TestClient) -> None:
    for method, path in _routes(app):
        r = anon.request(method, _fill(path))
        if path in ("/healthz", "/readyz"):
            assert r.status_code == 200, path
        elif path == "/login":
            continue  # the login form itself
        else:
            assert r.status_code in (401, 303), (method, path, r.status_code)
    for path in ("/docs", "/openapi.json", "/redoc"):
        assert anon.get(path).status_code == 401
    r = anon.get("/v1/decisions", headers={"Authorization": "Bearer rk_0000000000000000_x"})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthenticated"
    assert "Bearer" in r.headers["WWW-Authenticate"]
    assert anon.get("/v1/rules", headers={"Authorization": "Basic YTpi"}).status_code == 401
    page = anon.get("/v1/cases", headers={"Accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize("role", sorted(ROLES))
def test_each_role_can_do_exactly_what_its_permissions_say(
    rl: Riskloop, app: FastAPI, anon: TestClient, role: str
) -> None:
    """Route by route: without the permission, 403; with it, the request gets past
    authorisation (whatever the empty body then earns: 200, 404, 422...)."""
    csrf = _login(rl, anon, f"u-{role.replace('_', '-')}", role)
    granted = ROLES[role]
    table = _permissions(app)
    for method, path in _routes(app):
        needed = table[(method, path)]
        if needed == OPEN or path in ("/login", "/logout"):
            continue
        if method == "POST" and path.endswith(("/rescreen", "/retention/run")):
            continue  # real jobs with an empty body; their permission is checked below
        r = anon.request(method, _fill(path), headers={"X-CSRF-Token": csrf}, json=None)
        allowed = needed == AUTHENTICATED or needed in granted
        if allowed:
            assert r.status_code not in (401, 403), (role, method, path, r.text[:200])
        else:
            assert r.status_code == 403, (role, method, path, r.status_code)
            if r.headers.get("content-type", "").startswith("application/json"):
                assert r.json()["error"]["code"] == "forbidden"


def test_an_analyst_cannot_change_rules_but_a_risk_admin_can(rl: Riskloop, app: FastAPI) -> None:
    rule = {
        "id": "big_amount",
        "expression": "event.amount > 1000",
        "action": "review",
        "event_types": ["card_payment"],
        "reason": "LARGE_AMOUNT",
        "author": "x",
    }
    with TestClient(app) as analyst:
        admin = TestClient(app)  # the app is running already: one lifespan
        csrf = _login(rl, analyst, "ana", "analyst")
        r = analyst.post("/v1/rules", json=rule, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 403
        assert "rules:write" in r.json()["error"]["message"]
        csrf = _login(rl, admin, "rita", "risk_admin")
        r = admin.post("/v1/rules", json=rule, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 201, r.text
    entries = rl.catalog.store.audit().entries()
    assert any(e.action == "rule.create" and e.actor == "x" for e in entries)
    created = next(e for e in entries if e.action == "rule.create")
    assert created.detail["authenticated_as"] == "rita"  # the body's author is not trusted


def test_session_requests_need_the_csrf_token(rl: Riskloop, anon: TestClient) -> None:
    csrf = _login(rl, anon, "sam", "senior_analyst")
    body = {"name": "watch_ips", "kind": "watch", "type": "ip", "author": "sam"}
    r = anon.post("/v1/lists", json=body)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "csrf_failed"
    r = anon.post("/v1/lists", json=body, headers={"X-CSRF-Token": csrf[:-1] + "x"})
    assert r.status_code == 403
    assert anon.post("/v1/lists", json=body, headers={"X-CSRF-Token": csrf}).status_code == 201
    assert anon.get("/v1/lists").status_code == 200  # safe methods need no token


def test_api_keys_are_scoped_expire_rotate_and_revoke(rl: Riskloop, anon: TestClient) -> None:
    key, secret = rl.access.create_key("payments", ["decisions:write"], actor="tests")
    auth = {"Authorization": f"Bearer {secret}"}
    me = anon.get("/v1/me", headers=auth).json()
    assert me["permissions"] == ["decisions:write"]
    assert anon.get("/v1/cases", headers=auth).status_code == 403
    assert anon.get("/v1/cases", headers={"X-API-Key": secret}).status_code == 403
    with pytest.raises(Exception, match="scopes"):
        rl.access.create_key("bad", ["cases:steal"], actor="tests")

    new, new_secret = rl.access.rotate_key(key.key_id, actor="tests", grace_hours=1)
    assert new.scopes == key.scopes
    assert anon.get("/v1/me", headers=auth).status_code == 200  # grace period
    assert anon.get("/v1/me", headers={"Authorization": f"Bearer {new_secret}"}).status_code == 200
    later = datetime.now(UTC) + timedelta(hours=2)
    rl.access.clock = lambda: later
    rl.access._keys.clear()  # the few seconds of cache, skipped
    assert anon.get("/v1/me", headers=auth).status_code == 401  # grace over
    rl.access.clock = lambda: datetime.now(UTC)

    _short, short_secret = rl.access.create_key("temp", ["*"], actor="tests", expires_days=1)
    rl.access.clock = lambda: datetime.now(UTC) + timedelta(days=2)
    rl.access._keys.clear()
    assert (
        anon.get("/v1/me", headers={"Authorization": f"Bearer {short_secret}"}).status_code == 401
    )
    rl.access.clock = lambda: datetime.now(UTC)

    rl.access.revoke_key(new.key_id, actor="tests")
    assert anon.get("/v1/me", headers={"Authorization": f"Bearer {new_secret}"}).status_code == 401

    with rl.engine.connect() as conn:  # only digests at rest
        stored = [tuple(r) for r in conn.execute(select(api_keys))]
    assert not any(secret in str(row) or new_secret in str(row) for row in stored)
    assert not any(short_secret in str(row) for row in stored)
    actions = [e.action for e in rl.catalog.store.audit().entries()]
    assert {"apikey.create", "apikey.rotate", "apikey.revoke"} <= set(actions)


def test_key_administration_over_http(rl: Riskloop, anon: TestClient) -> None:
    _, admin = rl.access.create_key("ops", ["users:admin"], actor="tests")
    auth = {"Authorization": f"Bearer {admin}"}
    r = anon.post("/v1/apikeys", json={"name": "svc", "scopes": ["decisions:write"]}, headers=auth)
    assert r.status_code == 201
    made = r.json()
    assert made["secret"].startswith("rk_")
    r = anon.post("/v1/apikeys", json={"name": "svc", "scopes": ["nope"]}, headers=auth)
    assert r.status_code == 422
    assert r.json()["error"]["errors"][0]["field"] == "scopes"
    r = anon.post("/v1/apikeys", json={"name": "", "scopes": []}, headers=auth)
    assert r.status_code == 422
    rotated = anon.post(
        f"/v1/apikeys/{made['key_id']}/rotate", json={"grace_hours": 0}, headers=auth
    )
    assert rotated.status_code == 201
    assert anon.post(f"/v1/apikeys/{made['key_id']}/rotate", headers=auth).status_code == 404
    assert anon.post("/v1/apikeys/nothex/revoke", headers=auth).status_code == 422
    keys = anon.get("/v1/apikeys", headers=auth).json()["keys"]
    assert all("secret" not in k and "secret_hash" not in k for k in keys)
    r = anon.post(
        "/v1/users",
        json={"username": "newbie", "role": "analyst", "password": "short"},
        headers=auth,
    )
    assert r.status_code == 422
    r = anon.post(
        "/v1/users",
        json={"username": "newbie", "role": "analyst", "password": PASSWORD},
        headers=auth,
    )
    assert r.status_code == 201
    assert r.json()["totp_uri"].startswith("otpauth://totp/")
    assert anon.patch("/v1/users/newbie", json={"role": "god"}, headers=auth).status_code == 422
    assert anon.patch("/v1/users/ghost", json={"role": "auditor"}, headers=auth).status_code == 404
    assert anon.patch("/v1/users/newbie", json={"role": "auditor"}, headers=auth).status_code == 200


def test_login_is_limited_and_never_says_what_was_wrong(rl: Riskloop) -> None:
    secret = rl.access.add_user("lea", "analyst", PASSWORD, actor="tests")
    totp = pyotp.TOTP(secret)
    for password, code in [("wrong password!", totp.now()), (PASSWORD, "000000")]:
        with pytest.raises(AuthFailed) as failed:
            rl.access.login("lea", password, code, client="1.2.3.4")
        assert str(failed.value) == "invalid username, password or code"
    with pytest.raises(AuthFailed):
        rl.access.login("nobody", PASSWORD, totp.now(), client="1.2.3.4")
    code = totp.now()
    ok = rl.access.login("lea", PASSWORD, code, client="1.2.3.4")
    assert ok.principal.mfa
    with pytest.raises(AuthFailed):  # the same code twice: a replay
        rl.access.login("lea", PASSWORD, code, client="1.2.3.4")
    for _ in range(4):
        with pytest.raises(AuthFailed):
            rl.access.login("lea", "wrong password!", "123456", client="1.2.3.4")
    with pytest.raises(RateLimited) as limited:  # locked, even with everything right
        rl.access.login(
            "lea", PASSWORD, totp.at(datetime.now(UTC) + timedelta(seconds=30)), client="x"
        )
    assert 0 < limited.value.retry_after_s <= 15 * 60 + 1


def test_role_change_and_disabling_end_sessions(rl: Riskloop, anon: TestClient) -> None:
    _login(rl, anon, "dora", "risk_admin")
    assert anon.get("/v1/me").json()["role"] == "risk_admin"
    rl.access.set_role("dora", "analyst", actor="tests")
    assert anon.get("/v1/me").status_code == 401
    _login(rl, anon, "eve", "analyst")
    rl.access.disable("eve", actor="tests")
    assert anon.get("/v1/me").status_code == 401
    with rl.engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.username == "eve")).one()
    assert row.password_hash.startswith("$argon2id$")
    assert PASSWORD not in str(tuple(row))


def test_a_websocket_is_refused(anon: TestClient) -> None:
    from starlette.websockets import WebSocketDisconnect

    for path in ("/graphql", "/v1/decisions", "/"):
        with pytest.raises(WebSocketDisconnect), anon.websocket_connect(path):
            pass


def test_bootstrapping_from_the_command_line(
    run: Any, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`riskloop users add` / `apikeys create|rotate|revoke`: what an operator runs first,
    and each mistake named, exit 2, nothing stored."""
    monkeypatch.setenv("RISKLOOP_NEW_PASSWORD", PASSWORD)
    bad_role = run("users", "add", "ada", "--role", "god")
    assert bad_role.exit_code == 2 and "role: unknown role" in bad_role.stderr
    monkeypatch.setenv("RISKLOOP_NEW_PASSWORD", "short")
    short = run("users", "add", "ada", "--role", "admin")
    assert short.exit_code == 2 and "password: at least 12 characters" in short.stderr
    monkeypatch.setenv("RISKLOOP_NEW_PASSWORD", PASSWORD)
    made = run("users", "add", "ada", "--role", "admin")
    assert made.exit_code == 0, made.output
    assert "otpauth://totp/riskloop:ada" in made.stdout
    again = run("users", "add", "ada", "--role", "admin")
    assert again.exit_code == 1 and "already exists" in again.stderr

    bad_scope = run("apikeys", "create", "svc", "--scopes", "decisions:write,cases:steal")
    assert bad_scope.exit_code == 2 and "scopes: unknown scope(s): cases:steal" in bad_scope.stderr
    created = run("apikeys", "create", "svc", "--scopes", "decisions:write")
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip()
    key_id = secret.split("_")[1]
    rotated = run("apikeys", "rotate", key_id, "--grace-hours", "0")
    assert rotated.exit_code == 0 and rotated.stdout.strip() != secret
    assert run("apikeys", "rotate", key_id).exit_code == 1  # already rotated
    assert run("apikeys", "revoke", "0" * 16).exit_code == 1  # no such key
    rl = build(Settings.from_env(env))
    try:
        assert [u.username for u in rl.access.users()] == ["ada"]
        assert len(rl.access.keys()) == 2
        actions = [e.action for e in rl.catalog.store.audit().entries()]
        assert actions == ["user.add", "apikey.create", "apikey.rotate"]
        assert rl.access.authenticate_key(secret) is None  # grace 0: the old key is done
    finally:
        rl.close()
