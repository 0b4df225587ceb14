"""The one place that maps riskloop errors to HTTP responses.

Every error body has the same shape::

    {"error": {"code": "invalid_event", "message": "...",
               "errors": [{"field": "card.pan", "reason": "card number fails the Luhn check"}]}}
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError

from riskloop.entrypoints.http.responses import Json
from riskloop.errors import (
    AuthFailed,
    BusError,
    ConfigError,
    ConflictError,
    FieldError,
    Forbidden,
    ForbiddenData,
    InvalidDefinition,
    InvalidEvent,
    InvalidInput,
    NotFound,
    RateLimited,
    RiskloopError,
    StorageError,
    VaultError,
)
from riskloop.vault import mask_text

log = logging.getLogger(__name__)

_STATUS: list[tuple[type[RiskloopError], int, str]] = [
    (ForbiddenData, 422, "forbidden_data"),
    (InvalidEvent, 422, "invalid_event"),
    (InvalidInput, 422, "invalid_input"),
    (InvalidDefinition, 422, "invalid_definition"),
    (ConflictError, 409, "conflict"),
    (NotFound, 404, "not_found"),
    (AuthFailed, 401, "unauthenticated"),
    (Forbidden, 403, "forbidden"),
    (RateLimited, 429, "rate_limited"),
    (StorageError, 503, "storage_unavailable"),
    # No route waits on the bus today (the outbox relay publishes in the background); a
    # future one must not turn a bus outage into an unmapped 500.
    (BusError, 503, "bus_unavailable"),
    (VaultError, 500, "vault_error"),
    (ConfigError, 500, "config_error"),
]


def error_response(
    status: int, code: str, message: str, errors: list[FieldError] | None = None
) -> Json:
    body: dict[str, object] = {"code": code, "message": mask_text(message)}
    if errors:
        body["errors"] = [
            FieldError(mask_text(e.field), mask_text(e.reason)).as_dict() for e in errors
        ]
    return Json({"error": body}, status_code=status)


async def _riskloop_error(_request: Request, exc: Exception) -> Json:
    for kind, status, code in _STATUS:
        if isinstance(exc, kind):
            if status >= 500:
                log.error("%s: %s", code, exc)
            errors = exc.errors if isinstance(exc, InvalidInput) else None
            if isinstance(exc, InvalidDefinition):
                errors = [FieldError(exc.where, exc.reason)]
            message = "invalid input" if errors else str(exc)
            if isinstance(exc, BusError):
                message = "event bus unavailable"  # not which server, nor which subject
            elif status >= 500 and not isinstance(exc, StorageError):
                message = "internal error"  # no key or config detail to callers
            response = error_response(status, code, message, errors)
            if isinstance(exc, RateLimited):
                response.headers["Retry-After"] = str(exc.retry_after_s)
            return response
    log.exception("unmapped riskloop error")
    return error_response(500, "internal_error", "internal error")


async def _request_invalid(_request: Request, exc: Exception) -> Json:
    """FastAPI's own checks of query and path parameters, in riskloop's error shape."""
    assert isinstance(exc, RequestValidationError)
    errors = [
        FieldError(".".join(str(p) for p in e.get("loc", ())[1:]) or "request", e.get("msg", ""))
        for e in exc.errors()
    ]
    return error_response(422, "invalid_input", "invalid input", errors)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RiskloopError, _riskloop_error)
    app.add_exception_handler(RequestValidationError, _request_invalid)
