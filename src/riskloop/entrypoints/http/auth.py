"""Authentication (who is asking) as ASGI middleware, authorisation (may they) as the app's
one global dependency.

- Services send an API key: ``Authorization: Bearer rk_...`` (or ``X-API-Key``).
- Dashboard users carry the ``riskloop_session`` cookie; their unsafe requests must repeat
  the session's CSRF token in ``X-CSRF-Token`` (the cookie alone proves nothing: a browser
  attaches it to requests other sites make).
- Only the health checks, the login page and static files answer without credentials.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import Headers

from riskloop.access import Principal
from riskloop.access.context import acting
from riskloop.access.credentials import digest, same
from riskloop.entrypoints.http.authz import AUTHENTICATED, OPEN
from riskloop.entrypoints.http.errors import error_response
from riskloop.errors import Forbidden
from riskloop.service.access import AccessService

log = logging.getLogger(__name__)

SESSION_COOKIE = "riskloop_session"
CSRF_HEADER = "x-csrf-token"
_OPEN_PATHS = frozenset({"/healthz", "/readyz", "/login"})
_OPEN_PREFIXES = ("/static/",)
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _cookie(headers: Headers, name: str) -> str | None:
    for part in headers.get("cookie", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name and value:
            return value
    return None


class AuthMiddleware:
    def __init__(self, app: ASGIApp, access: AccessService) -> None:
        self.app = app
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "websocket":  # none is served; refuse rather than let one by
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http" or path in _OPEN_PATHS or path.startswith(_OPEN_PREFIXES):
            await self.app(scope, receive, send)  # lifespan, health checks, the login form
            return
        headers = Headers(scope=scope)
        principal: Principal | None = None
        csrf: str | None = None
        auth = headers.get("authorization") or ""
        scheme, _, token = auth.partition(" ")
        key = token.strip() if scheme.lower() == "bearer" else headers.get("x-api-key", "")
        if auth and scheme.lower() != "bearer":
            response = error_response(401, "unauthenticated", "use Authorization: Bearer <key>")
            await response(scope, receive, send)
            return
        if key:  # a key seen in the last few seconds is answered without a thread hop
            cached = self.access.cached_key(digest(key))
            if cached is not None:
                principal = cached[0]
            else:
                principal = await run_in_threadpool(self.access.authenticate_key, key)
        elif (session := _cookie(headers, SESSION_COOKIE)) is not None:
            found = await run_in_threadpool(self.access.session_principal, session)
            if found is not None:
                principal, csrf = found
                sent = headers.get(CSRF_HEADER, "")
                if scope["method"] not in _SAFE and not (sent and same(sent, csrf)):
                    response = error_response(403, "csrf_failed", "missing or wrong X-CSRF-Token")
                    await response(scope, receive, send)
                    return
        if principal is None:
            await self._refuse(scope, receive, send, headers, bool(key))
            return
        state = scope.setdefault("state", {})
        state["principal"], state["csrf_token"] = principal, csrf
        with acting(principal.name):
            await self.app(scope, receive, send)

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, headers: Headers, had_key: bool
    ) -> None:
        wants_page = scope["method"] == "GET" and "text/html" in headers.get("accept", "")
        if wants_page and not had_key:  # a person in a browser: to the login page
            target = scope.get("path", "/")
            if scope.get("query_string"):
                target += "?" + scope["query_string"].decode("latin-1")
            location = "/login?next=" + quote(target, safe="")
            await send(
                {
                    "type": "http.response.start",
                    "status": 303,
                    "headers": [(b"location", location.encode())],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        message = "invalid or expired API key" if had_key else "authentication required"
        response = error_response(401, "unauthenticated", message)
        response.headers["WWW-Authenticate"] = 'Bearer realm="riskloop"'
        await response(scope, receive, send)


def authorizer(table: dict[tuple[str, str], str]) -> Callable[[Request], None]:
    """The app-wide dependency: the route's permission from ``table``, deny by default."""

    def authorize(request: Request) -> None:
        route = request.scope.get("route")
        path = getattr(route, "path", None)
        method = "GET" if request.method == "HEAD" else request.method
        needed = table.get((method, path)) if path is not None else None
        if needed == OPEN:
            return
        principal: Principal | None = getattr(request.state, "principal", None)
        if needed is None:
            log.error("no permission declared for %s %s: refused", method, path)
            raise Forbidden("none", "this route declares no permission")
        if principal is None:  # the middleware lets no one through without one
            raise Forbidden(needed)
        if needed != AUTHENTICATED and not principal.can(needed):
            raise Forbidden(needed)

    return authorize
