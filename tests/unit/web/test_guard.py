"""The dashboard's route class on a bare app: deny by default, to the login page without a
principal, 403 without the permission, and errors as HTML (or as a message for htmx)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.testclient import TestClient

from riskloop.access import Principal, permissions_for
from riskloop.entrypoints.web.guard import AUTHENTICATED, OPEN, route_class
from riskloop.errors import ConflictError, FieldError, InvalidInput

TABLE = {
    ("GET", "/open"): OPEN,
    ("GET", "/anyone"): AUTHENTICATED,
    ("GET", "/rules"): "rules:read",
    ("POST", "/rules"): "rules:write",
    ("GET", "/bad"): "rules:read",
    ("POST", "/busy"): "rules:read",
}


def _app(principal: Principal | None) -> FastAPI:
    api = APIRouter(route_class=route_class(TABLE))

    @api.get("/open")
    @api.get("/anyone")
    @api.get("/rules")
    @api.post("/rules")
    @api.get("/unlisted")
    async def ok() -> dict[str, bool]:
        return {"ok": True}

    @api.get("/bad")
    async def bad(n: int) -> dict[str, int]:
        raise InvalidInput([FieldError("n", "<b>too</b> small")])

    @api.post("/busy")
    async def busy() -> None:
        raise ConflictError("case", "c1", "is in review by bo")

    app = FastAPI()
    app.include_router(api)

    @app.middleware("http")
    async def who(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if principal is not None:
            request.state.principal = principal
            request.state.csrf_token = "t"
        return await call_next(request)

    return app


ANALYST = Principal("ana", "user", "analyst", permissions_for("analyst"), mfa=True)


def test_without_a_principal_pages_go_to_login_and_the_rest_is_401() -> None:
    client = TestClient(_app(None))
    assert client.get("/open").status_code == 200
    r = client.get("/rules?x=1", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/login?next=/rules%3Fx%3D1")
    assert client.get("/rules", headers={"HX-Request": "true"}).status_code == 401
    assert client.post("/rules").status_code == 401


def test_permissions_are_checked_and_unlisted_routes_refused() -> None:
    client = TestClient(_app(ANALYST))
    assert client.get("/anyone").status_code == 200
    assert client.get("/rules").status_code == 200
    r = client.post("/rules")
    assert r.status_code == 403 and "permission" in r.text
    assert client.get("/unlisted").status_code == 403  # deny by default
    api_key = Principal("key:k/x", "api_key", None, frozenset({"decisions:write"}))
    assert TestClient(_app(api_key)).get("/rules").status_code == 403


@pytest.mark.parametrize("path", ["/bad?n=1", "/bad?n=nope", "/bad"])
def test_bad_input_is_a_422_page_naming_the_field_escaped(path: str) -> None:
    r = TestClient(_app(ANALYST)).get(path)
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert "<strong>n</strong>" in r.text
    assert "<b>too" not in r.text


def test_htmx_errors_go_to_the_live_region() -> None:
    r = TestClient(_app(ANALYST)).post("/busy", headers={"HX-Request": "true"})
    assert r.status_code == 409
    assert (r.headers["HX-Retarget"], r.headers["HX-Reswap"]) == ("#flash", "innerHTML")
    assert 'role="alert"' in r.text and "is in review by bo" in r.text
