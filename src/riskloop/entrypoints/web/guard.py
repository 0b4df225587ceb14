"""The dashboard's route class: who may open a page, and how errors look in a browser.

The access middleware (``entrypoints/http/auth.py``) authenticates every request and
enforces ``PERMISSIONS``; this route class checks the same table again before a handler
runs, so a page stays closed even if it were ever served without the middleware (deny by
default: a route missing from the table answers 403). It also turns riskloop's errors into
HTML: a page with the reason, or, for an htmx request, a message in the page's live region
(``#flash``) instead of whatever the request meant to replace.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, ClassVar
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from riskloop.entrypoints.web.render import flash, is_htmx, page, principal_of
from riskloop.errors import (
    AuthFailed,
    ConflictError,
    FieldError,
    Forbidden,
    InvalidDefinition,
    InvalidInput,
    NotFound,
    RateLimited,
    RiskloopError,
    StorageError,
)
from riskloop.vault import mask_text

log = logging.getLogger(__name__)

# The words of ``entrypoints/http/authz.py`` (not imported: the http package imports the
# app, which imports this one; a test checks they agree).
AUTHENTICATED = "authenticated"  # any signed-in principal
OPEN = "open"  # no session needed: the login form


_STATUS: tuple[tuple[type[RiskloopError], int, str], ...] = (
    (InvalidInput, 422, "The input is not valid"),
    (InvalidDefinition, 422, "The definition is not valid"),
    (ConflictError, 409, "That changed meanwhile or is not allowed now"),
    (NotFound, 404, "Not found"),
    (AuthFailed, 401, "Sign in again"),
    (Forbidden, 403, "You do not have permission to do this"),
    (RateLimited, 429, "Too many attempts"),
    (StorageError, 503, "The record store is unavailable; try again shortly"),
)


def field_errors(exc: Exception) -> list[FieldError]:
    """The field errors of a validation failure, masked (a PAN typed into a field is not
    echoed back)."""
    if isinstance(exc, InvalidInput):
        found = exc.errors
    elif isinstance(exc, InvalidDefinition):
        found = [FieldError(exc.where, exc.reason)]
    elif isinstance(exc, RequestValidationError):
        found = [
            FieldError(".".join(str(p) for p in e.get("loc", ())[1:]) or "request", e["msg"])
            for e in exc.errors()
        ]
    else:
        return []
    return [FieldError(mask_text(e.field), mask_text(e.reason)) for e in found]


def error_response(request: Request, exc: Exception) -> Response:
    errors = field_errors(exc)
    status, title = 500, "Something went wrong"
    if isinstance(exc, RequestValidationError):
        status, title = 422, "The request is not valid"
    for kind, code, text in _STATUS:
        if isinstance(exc, kind):
            status, title = code, text
            break
    if status >= 500 and not isinstance(exc, StorageError):
        log.error("dashboard %s %s failed: %s", request.method, request.url.path, exc)
    detail = "" if errors or status == 500 else mask_text(str(exc))
    headers = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after_s)
    if is_htmx(request):
        parts = [title] + [f"{e.field}: {e.reason}" for e in errors] + ([detail] if detail else [])
        response = flash(request, " — ".join(parts), status=status, kind="error")
        response.headers.update(headers)
        return response
    context = {"title": title, "status": status, "errors": errors, "detail": detail}
    return page(request, "error.html", context, status=status, headers=headers)


def _refuse(request: Request, signed_in: bool) -> Response:
    if not signed_in and request.method == "GET" and not is_htmx(request):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)
    if not signed_in:
        return error_response(request, AuthFailed("not signed in"))
    return error_response(request, Forbidden("", "your role does not allow this"))


class WebRoute(APIRoute):
    """An :class:`APIRoute` that checks ``permissions[(method, path template)]`` first."""

    permissions: ClassVar[Mapping[tuple[str, str], str]] = {}

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        inner = super().get_route_handler()
        path, table = self.path, self.permissions

        async def handler(request: Request) -> Response:
            method = "GET" if request.method == "HEAD" else request.method
            need = table.get((method, path))
            if need != OPEN:
                principal = principal_of(request)
                if principal is None:
                    return _refuse(request, signed_in=False)
                if need is None or (need != AUTHENTICATED and not principal.can(need)):
                    return _refuse(request, signed_in=True)
            try:
                return await inner(request)
            except (RiskloopError, RequestValidationError) as exc:
                return error_response(request, exc)

        return handler


def route_class(permissions: Mapping[tuple[str, str], str]) -> type[WebRoute]:
    return type("DashboardRoute", (WebRoute,), {"permissions": permissions})


def actor(request: Request) -> str:
    """Who acts: the signed-in principal's name (recorded in timelines and the audit)."""
    principal = principal_of(request)
    if principal is None:
        raise AuthFailed("not signed in")
    return principal.name
