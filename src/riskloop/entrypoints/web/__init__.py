"""The analyst dashboard: server-rendered pages (Jinja2) made interactive with htmx, charts
by a vendored Chart.js; no JavaScript build step, nothing loaded from elsewhere.

``router(rl)`` gives the FastAPI router (pages at ``/``, static files at ``/static``);
``PERMISSIONS`` says what each route needs. See ``docs/dashboard.md``.
"""

from riskloop.entrypoints.web.routes import PERMISSIONS, router

__all__ = ["PERMISSIONS", "router"]
