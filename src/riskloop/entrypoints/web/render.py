"""Rendering the dashboard: the Jinja2 environment, its filters, and the HTML responses.

Every value reaches a page through autoescaping (user-controlled text such as notes, rule
expressions and entity keys included), and every page carries a Content-Security-Policy
that allows only this origin's scripts and styles: no inline script, no eval, so a value
that slipped through could not run anyway.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from riskloop import __version__
from riskloop.access import Principal

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",  # pages hold case data: not for shared caches or history
}

# The main navigation: (path, label, the permission that shows it).
NAV: tuple[tuple[str, str, str], ...] = (
    ("/", "Overview", "monitoring:read"),
    ("/queue", "Review queue", "cases:read"),
    ("/decisions", "Decisions", "decisions:read"),
    ("/rules", "Rules", "rules:read"),
    ("/models", "Models", "models:read"),
    ("/screening", "Screening", "screening:read"),
    ("/tasks", "Tasks", "tasks:read"),
)


def when(value: object) -> str:
    """A time as ``YYYY-MM-DD HH:MM:SS`` UTC (ISO strings and datetimes alike).

    >>> when("2026-11-01T12:00:00+01:00")
    '2026-11-01 11:00:00'
    >>> when(None)
    '—'
    """
    if value is None or value == "":
        return "—"
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def percent(value: object, digits: int = 1) -> str:
    """A share as a percentage.

    >>> percent(0.1234), percent(None)
    ('12.3 %', '—')
    """
    if not isinstance(value, int | float) or isinstance(value, bool) or math.isnan(value):
        return "—"
    return f"{value * 100:.{digits}f} %"


def number(value: object, digits: int = 3) -> str:
    """Floats to a few significant places, everything else as text.

    >>> number(0.123456), number(12), number(None)
    ('0.123', '12', '—')
    """
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1e6 else f"{value:,.0f}"
    return str(value)


def money(amount: object, currency: object = "") -> str:
    """Minor units as an amount: ``money(4599, "EUR")`` is ``'45.99 EUR'``.

    >>> money(4599, "EUR")
    '45.99 EUR'
    """
    if not isinstance(amount, int | float) or isinstance(amount, bool):
        return "—"
    return f"{amount / 100:,.2f} {currency or ''}".strip()


def micros(value: object) -> str:
    """Microseconds as milliseconds.

    >>> micros(1530), micros(None)
    ('1.53 ms', '—')
    """
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "—"
    return f"{value / 1000:.3g} ms"


def to_json(value: Any) -> Markup:
    """JSON for a ``<script type="application/json">`` block: ``<``, ``>`` and ``&`` are
    escaped as unicode so no value can close the block."""
    text = orjson.dumps(value).decode()
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)  # noqa: S704 - escaped above for the script-block context


ENV = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=StrictUndefined,  # a template typo fails the tests instead of showing ""
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.filters.update(
    when=when, percent=percent, number=number, money=money, micros=micros, to_json=to_json
)
ENV.globals["version"] = __version__


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def principal_of(request: Request) -> Principal | None:
    found = getattr(request.state, "principal", None)
    return found if isinstance(found, Principal) else None


def _context(request: Request, context: Mapping[str, Any]) -> dict[str, Any]:
    principal = principal_of(request)
    nav = [
        (path, label, request.url.path == path or request.url.path.startswith(path + "/"))
        for path, label, need in NAV
        if principal is not None and principal.can(need)
    ]
    return {
        "request": request,
        "principal": principal,
        "csrf_token": getattr(request.state, "csrf_token", None),
        "nav": nav,
        **context,
    }


def html(text: str, status: int = 200, headers: Mapping[str, str] | None = None) -> HTMLResponse:
    return HTMLResponse(text, status_code=status, headers={**HEADERS, **(headers or {})})


def page(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """A whole page, or a fragment (templates whose name starts with ``_``)."""
    text = ENV.get_template(template).render(_context(request, context or {}))
    return html(text, status, headers)


def flash(request: Request, message: str, *, status: int = 200, kind: str = "info") -> HTMLResponse:
    """A message for the page's live region (``#flash``), wherever the request aimed."""
    headers = {"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"}
    return page(
        request,
        "_flash.html",
        {"message": message, "kind": kind},
        status=status,
        headers=headers,
    )
