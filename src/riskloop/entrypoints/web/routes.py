"""The dashboard's router: every page and action, the static files, and ``PERMISSIONS``.

``PERMISSIONS`` maps ``(METHOD, path template)`` to the permission a route needs (a name
from ``riskloop.access.PERMISSIONS``, or ``"authenticated"`` for any signed-in principal).
The access middleware enforces it, deny by default; so does :class:`guard.WebRoute`.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.staticfiles import StaticFiles

from riskloop.bootstrap import Riskloop
from riskloop.entrypoints.web import (
    casework,
    catalog_pages,
    decision_pages,
    login,
    model_pages,
    ops_pages,
    overview,
)
from riskloop.entrypoints.web.guard import route_class
from riskloop.entrypoints.web.render import STATIC

_PAGES = (overview, casework, decision_pages, catalog_pages, model_pages, ops_pages, login)

PERMISSIONS: dict[tuple[str, str], str] = {
    key: need for module in _PAGES for key, need in module.PERMISSIONS.items()
}


def router(rl: Riskloop) -> APIRouter:
    api = APIRouter(route_class=route_class(PERMISSIONS), tags=["dashboard"])
    for module in _PAGES:
        module.add_routes(api, rl)
    # Vendored htmx and Chart.js and the dashboard's own CSS and JS: nothing is fetched
    # from elsewhere, at build or at run time.
    api.mount("/static", StaticFiles(directory=STATIC), name="static")
    return api
