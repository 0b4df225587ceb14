"""The dashboard's pages over HTTP: each renders for a signed-in user, each is closed to a
principal without its permission (and to no one), bad query parameters give a 422 page that
names the field (never a 500), and whatever a user typed comes back escaped."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from riskloop.access import PERMISSIONS as PERMISSION_NAMES
from riskloop.bootstrap import Riskloop
from riskloop.entrypoints.http import create_app
from riskloop.entrypoints.http.authz import AUTHENTICATED, OPEN
from riskloop.entrypoints.web import PERMISSIONS, guard
from tests.browser.seed import seed, sign_in


@pytest.fixture
def app(rl: Riskloop) -> FastAPI:
    return create_app(rl, follow_every_s=3600)


@pytest.fixture
def world(rl: Riskloop) -> dict[str, Any]:
    return seed(rl)


def _client(app: FastAPI, rl: Riskloop, role: str) -> tuple[TestClient, str]:
    client = TestClient(app)
    return client, sign_in(client, rl, role)


@pytest.fixture
def admin(app: FastAPI, rl: Riskloop, world: dict[str, Any]) -> TestClient:
    client, csrf = _client(app, rl, "admin")
    client.headers["X-CSRF-Token"] = csrf
    return client


@pytest.fixture
def bare_admin(app: FastAPI, rl: Riskloop) -> TestClient:
    """Signed in, with nothing seeded: for what needs no data."""
    return _client(app, rl, "admin")[0]


def _case_id(rl: Riskloop) -> str:
    return rl.cases.search(status=["open"], limit=1)[0].case_id


def test_every_dashboard_route_names_a_known_permission(app: FastAPI) -> None:
    assert (guard.AUTHENTICATED, guard.OPEN) == (AUTHENTICATED, OPEN)
    served: set[tuple[str, str]] = set()

    def walk(routes: list[Any]) -> None:
        for r in routes:
            if getattr(r, "original_router", None) is not None:
                walk(r.original_router.routes)
            elif isinstance(r, APIRoute):
                served.update((m, r.path) for m in r.methods)

    walk(app.router.routes)
    assert set(PERMISSIONS) <= served  # every entry is a route the app serves
    dashboard = {(m, p) for m, p in served if not p.startswith(("/v1/", "/graphql"))}
    assert dashboard - {("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics")} <= set(
        PERMISSIONS
    )
    for key, need in PERMISSIONS.items():
        assert need in PERMISSION_NAMES or need in (AUTHENTICATED, OPEN), key
    assert sorted(k for k, v in PERMISSIONS.items() if v == OPEN) == [
        ("GET", "/login"),
        ("POST", "/login"),
    ]


def test_every_page_renders_with_security_headers(rl: Riskloop, admin: TestClient) -> None:
    decision = rl.ledger.search(outcome="review", limit=1)[0]
    pages = [
        "/",
        "/queue",
        f"/cases/{_case_id(rl)}",
        "/decisions",
        f"/decisions/{decision.decision_id}",
        "/decisions?outcome=review&event_type=card_payment&since=2020-01-01T00:00",
        "/decisions?entity_type=customer&entity=cus-rev-0",
        "/rules",
        "/rules/large_amount",
        "/new-rule",
        "/lists/blocked_devices",
        "/models",
        "/screening",
        "/tasks",
        "/tasks?status=open&kind=manual",
    ]
    for path in pages:
        r = admin.get(path)
        assert r.status_code == 200, (path, r.text[:500])
        assert r.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in r.headers["content-security-policy"]
        assert '<main id="main"' in r.text and 'aria-label="Main"' in r.text, path
        assert re.search(r"<h1[ >]", r.text), path
    assert "cus-rev-0" in admin.get("/decisions?entity_type=customer&entity=cus-rev-0").text


def test_the_overview_shows_rates_latency_and_chart_data(rl: Riskloop, admin: TestClient) -> None:
    text = admin.get("/").text
    for label in ("Approve rate", "Review rate", "Decline rate", "Challenge rate"):
        assert label in text
    assert "Latency p99" in text and "Chargeback rate" in text and "Open cases" in text
    found = re.search(
        r'<script type="application/json" id="chart-per-minute-data">(.*?)</script>', text, re.S
    )
    assert found is not None
    import orjson

    config = orjson.loads(found.group(1))
    assert sum(sum(d["data"]) for d in config["data"]["datasets"]) == 8  # every decision


def test_the_case_page_explains_the_decision_and_links_entities(
    rl: Riskloop, admin: TestClient
) -> None:
    text = admin.get(f"/cases/{_case_id(rl)}").text
    assert "LARGE_AMOUNT" in text and "large_amount" in text  # reason and rule hit
    assert "Feature values" in text and "card_count_1h" in text
    assert "Linked entities" in text and "customer <code>cus-rev-" in text
    assert "tok_" in text  # the card, by its token
    assert "Confirm fraud" in text and "Genuine" in text


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/decisions?limit=abc", "limit"),
        ("/decisions?since=yesterday", "since"),
        ("/decisions?outcome=maybe", "outcome"),
        ("/decisions?since=2026-01-02T00:00&until=2026-01-01T00:00", "until"),
        ("/decisions?entity=cus-1", "entity_type"),
        ("/queue?status=lost", "status"),
        ("/queue?limit=0", "limit"),
        ("/tasks?kind=chores", "kind"),
        ("/screening?status=maybe", "status"),
        ("/models/fraud/one", "version"),
    ],
)
def test_bad_query_parameters_give_a_clear_422(
    bare_admin: TestClient, path: str, field: str
) -> None:
    r = bare_admin.get(path)
    assert r.status_code == 422, (path, r.status_code)
    assert r.headers["content-type"].startswith("text/html")
    assert field in r.text


def test_missing_things_are_a_404_page(bare_admin: TestClient) -> None:
    for path in ("/cases/case_nothing", "/decisions/dec_0", "/rules/nothing", "/models/x/1"):
        r = bare_admin.get(path)
        assert r.status_code == 404, path
        assert "Not found" in r.text


def test_a_principal_without_the_permission_gets_403(
    rl: Riskloop, app: FastAPI, world: dict[str, Any]
) -> None:
    _key, secret = rl.access.create_key("payments", ["decisions:write"], actor="tests")
    service = TestClient(app, headers={"Authorization": f"Bearer {secret}"})
    for path in ("/", "/queue", "/rules", "/decisions", "/models", "/tasks", "/screening"):
        assert service.get(path).status_code == 403, path
    auditor, csrf = _client(app, rl, "auditor")  # reads everything, works nothing
    case_id = _case_id(rl)
    assert auditor.get(f"/cases/{case_id}").status_code == 200
    r = auditor.post(
        f"/cases/{case_id}/resolve",
        data={"resolution": "fraud"},
        headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
    )
    assert r.status_code == 403
    assert rl.cases.get(case_id).status.value == "open"
    queue = auditor.get("/queue").text
    assert "/resolve" not in queue  # no buttons the auditor cannot use


def test_an_analyst_can_check_a_rule_but_sees_no_save_and_cannot_save(
    rl: Riskloop, app: FastAPI, world: dict[str, Any]
) -> None:
    analyst, csrf = _client(app, rl, "analyst")
    page = analyst.get("/rules/large_amount").text
    assert 'id="expression"' in page and "/rules/validate" in page
    assert "Save as a new version" not in page and 'hx-post="/backtests"' not in page
    assert "New rule" not in analyst.get("/rules").text
    form = {**world_rule(), "expression": "event.amount > 5"}
    headers = {"X-CSRF-Token": csrf, "HX-Request": "true"}
    assert (
        "Valid for card_payment" in analyst.post("/rules/validate", data=form, headers=headers).text
    )
    assert analyst.post("/rules", data=form, headers=headers).status_code == 403
    assert analyst.post("/backtests", data=form, headers=headers).status_code == 403
    assert rl.catalog.rule("large_amount").version == 1


def world_rule() -> dict[str, Any]:
    return {
        "id": "large_amount",
        "reason": "LARGE_AMOUNT",
        "action": "review",
        "status": "active",
        "priority": "100",
        "event_types": "card_payment",
    }


def test_user_text_comes_back_escaped(rl: Riskloop, admin: TestClient) -> None:
    case_id = _case_id(rl)
    attack = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    r = admin.post(f"/cases/{case_id}/notes", data={"note": attack}, headers={"HX-Request": "true"})
    assert r.status_code == 204
    text = admin.get(f"/cases/{case_id}").text
    assert "&lt;script&gt;alert(" in text
    assert "<script>alert" not in text and "<img src=x" not in text
    echoed = admin.get("/decisions", params={"entity_type": "customer", "entity": attack}).text
    assert "<script>alert" not in echoed and "&lt;script&gt;" in echoed
    bad = admin.get("/decisions", params={"since": attack}).text  # echoed in the error too
    assert "<script>alert" not in bad
    r = admin.post(
        "/rules/validate",
        data={**world_rule(), "expression": attack},
        headers={"HX-Request": "true"},
    )
    assert "<script>alert" not in r.text and "Not valid" in r.text
