"""``/``: the overview — traffic and outcomes, latency, chargebacks, drift, open work."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from riskloop.bootstrap import Riskloop
from riskloop.entrypoints.web import stats
from riskloop.entrypoints.web.render import page

PERMISSIONS: dict[tuple[str, str], str] = {("GET", "/"): "monitoring:read"}

# Chart colours per outcome, readable on white and told apart without colour by the legend.
COLOURS = {
    "approve": "#2e7d32",
    "review": "#b26a00",
    "challenge": "#1565c0",
    "decline": "#c62828",
}
_ORDER = {"ok": 0, "warn": 1, "alert": 2}


def _drift(rl: Riskloop) -> dict[str, Any]:
    """The newest drift report of each event type, and the worst status among them."""
    latest: dict[str, Any] = {}
    for report in rl.monitoring.reports(kind="drift", limit=200):
        latest.setdefault(report.scope, report)
    reports = sorted(latest.values(), key=lambda r: r.scope)
    status = max((r.status for r in reports), key=lambda s: _ORDER.get(s, 0), default=None)
    return {"status": status, "reports": reports}


def _cases(rl: Riskloop) -> dict[str, Any]:
    found = rl.cases.overview()
    by_status: dict[str, int] = {}
    for counts in found["queues"].values():
        for status, n in counts.items():
            by_status[status] = by_status.get(status, 0) + n
    return {
        "total": sum(by_status.values()),
        "by_status": by_status,
        "queues": found["queues"],
        "sla_breached": found["sla_breached"],
    }


def charts(figures: stats.Overview) -> dict[str, Any]:
    """Chart.js configurations: decisions per minute (stacked) and the day's outcome mix."""
    per_minute = {
        "type": "bar",
        "data": {
            "labels": figures.minutes,
            "datasets": [
                {
                    "label": outcome,
                    "data": figures.per_minute[outcome],
                    "backgroundColor": COLOURS[outcome],
                }
                for outcome in stats.OUTCOMES
            ],
        },
        "options": {
            "animation": False,
            "maintainAspectRatio": False,
            "scales": {
                "x": {"stacked": True, "ticks": {"maxTicksLimit": 12}},
                "y": {"stacked": True, "beginAtZero": True, "ticks": {"precision": 0}},
            },
        },
    }
    mix = {
        "type": "doughnut",
        "data": {
            "labels": list(stats.OUTCOMES),
            "datasets": [
                {
                    "label": "decisions in 24 h",
                    "data": [figures.day_counts.get(o, 0) for o in stats.OUTCOMES],
                    "backgroundColor": [COLOURS[o] for o in stats.OUTCOMES],
                }
            ],
        },
        "options": {"animation": False, "maintainAspectRatio": False},
    }
    return {"per_minute": per_minute, "mix": mix}


def add_routes(api: APIRouter, rl: Riskloop) -> None:
    @api.get("/", include_in_schema=False)
    async def overview(request: Request) -> Response:
        def gather() -> dict[str, Any]:
            now = datetime.now(UTC)
            figures = stats.overview(rl.engine, now)
            return {
                "now": now,
                "figures": figures,
                "charts": charts(figures),
                "outcomes": stats.OUTCOMES,
                "drift": _drift(rl),
                "cases": _cases(rl),
            }

        return page(request, "overview.html", await run_in_threadpool(gather))
