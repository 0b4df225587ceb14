"""``riskloop monitor ...``: run the drift, performance and freshness checks now, or read
the latest reports. A check stores its report and raises tasks for what alerts; the command
exits 3 when anything alerts (for cron and CI), 2 on bad input naming the option."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from riskloop.entrypoints.cli_catalog import _print_errors, refusals
from riskloop.entrypoints.cli_common import app_or_exit, out
from riskloop.errors import FieldError, InvalidInput
from riskloop.monitoring.ports import Report
from riskloop.service.monitoring import Window, window

monitor_app = typer.Typer(
    no_args_is_help=True, help="Monitoring: drift, delayed-label performance, freshness."
)

EventType = Annotated[str | None, typer.Option(help="one event type (default: every one)")]
Span = Annotated[
    str | None,
    typer.Option(metavar="START..END", help="ISO dates or times, UTC when no zone is given"),
]
AsJson = Annotated[bool, typer.Option("--json", help="print the reports as JSON")]

_COLOURS = {"ok": "green", "warn": "yellow", "alert": "red", "insufficient_data": "dim"}


@contextmanager
def _refusals() -> Iterator[None]:
    """Bad input: every problem, exit 2; any other refusal: its reason, exit 1."""
    with refusals("refused"):
        try:
            yield
        except InvalidInput as exc:
            _print_errors(exc.errors)
            raise typer.Exit(2) from None


def _moment(raw: str, option: str) -> datetime:
    try:
        when = datetime.fromisoformat(raw.strip())
    except ValueError:
        reason = "START..END with ISO dates or times, e.g. 2026-11-01..2026-11-08"
        raise InvalidInput([FieldError(option, reason)]) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def parse_span(raw: str | None, option: str) -> Window | None:
    """``2026-11-01..2026-11-08`` (or times) as a window; UTC where no zone is given."""
    if raw is None:
        return None
    parts = raw.split("..")
    if len(parts) != 2:
        reason = "START..END with ISO dates or times, e.g. 2026-11-01..2026-11-08"
        raise InvalidInput([FieldError(option, reason)])
    try:
        return window(_moment(parts[0], option), _moment(parts[1], option), option)
    except InvalidInput as exc:
        raise InvalidInput([FieldError(option, e.reason) for e in exc.errors]) from None


def _status(value: str) -> str:
    return f"[{_COLOURS.get(value, 'white')}]{value}[/]"


def _num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1e-3 and value else f"{value:.{digits}f}"
    return str(value)


def _finish(reports: Sequence[Report], as_json: bool) -> None:
    if as_json:
        out.print_json(json.dumps([r.as_dict() for r in reports]))
    if any(r.status == "alert" for r in reports):
        raise typer.Exit(3)


def _drift_table(report: Report) -> Table:
    body = report.body
    table = Table(
        "feature", "kind", "status", "PSI", "KS", "KS p", "missing", "mean", "why",
        title=f"drift {report.scope}: {body['status']} "
        f"({body['reference_count']} → {body['current_count']} decisions)",
    )  # fmt: skip
    for f in [body["score"], *body["features"]]:
        table.add_row(
            f["feature"] if f is not body["score"] else "(score)",
            f["kind"],
            _status(f["status"]),
            _num(f["psi"]),
            _num(f["ks_statistic"]),
            _num(f["ks_p_value"], 2),
            f"{_num(f['missing_reference'])} → {_num(f['missing_current'])}",
            f"{_num(f['mean_reference'], 1)} → {_num(f['mean_current'], 1)}",
            "; ".join(f["reasons"]),
        )
    return table


@monitor_app.command("drift")
def monitor_drift(
    event_type: EventType = None,
    reference: Span = None,
    current: Span = None,
    as_json: AsJson = False,
) -> None:
    """Feature and score drift of the current window (default: the last 24 h) against the
    reference (default: the 7 days before it); exit 3 when any feature alerts."""
    rl = app_or_exit()
    try:
        with _refusals():
            ref, cur = parse_span(reference, "--reference"), parse_span(current, "--current")
            reports = rl.monitoring.drift(event_type=event_type, reference=ref, current=cur)
    finally:
        rl.close()
    if not as_json:
        if not reports:
            out.print("no decisions in either window")
        for r in reports:
            out.print(_drift_table(r))
    _finish(reports, as_json)


@monitor_app.command("performance")
def monitor_performance(
    event_type: EventType = None,
    current: Span = None,
    as_json: AsJson = False,
) -> None:
    """Delayed-label performance by decision day (default: the last 60 days), with the
    labels known now; exit 3 when a floor is crossed."""
    rl = app_or_exit()
    try:
        with _refusals():
            cur = parse_span(current, "--current")
            reports = rl.monitoring.performance(event_type=event_type, current=cur)
    finally:
        rl.close()
    if not as_json:
        if not reports:
            out.print("no decisions in the window")
        for r in reports:
            body = r.body
            table = Table(
                "day", "age (d)", "decisions", "flagged", "fraud", "precision", "recall",
                "avg precision", "fraud caught", "fraud missed",
                title=f"performance {r.scope}: {body['status']}",
            )  # fmt: skip
            for c in body["cohorts"]:
                amounts = c["fraud_amount"]
                table.add_row(
                    c["day"],
                    str(c["maturity_days"]),
                    str(c["decisions"]),
                    str(c["flagged"]),
                    str(c["fraud"]),
                    _num(c["precision"]),
                    _num(c["recall"]),
                    _num(c["average_precision"]),
                    json.dumps(amounts["caught"]),
                    json.dumps(amounts["missed"]),
                )
            out.print(table)
            out.print(f"[dim]{body['note']}[/dim]")
    _finish(reports, as_json)


@monitor_app.command("freshness")
def monitor_freshness(
    event_type: EventType = None,
    reference: Span = None,
    current: Span = None,
    as_json: AsJson = False,
) -> None:
    """Time since the last event and events per window, per event type; dead-letter rate
    per source; exit 3 when anything is stale or broken."""
    rl = app_or_exit()
    try:
        with _refusals():
            ref, cur = parse_span(reference, "--reference"), parse_span(current, "--current")
            report = rl.monitoring.freshness(event_type=event_type, reference=ref, current=cur)
    finally:
        rl.close()
    if not as_json:
        body = report.body
        table = Table(
            "event type", "status", "last event", "age", "reference", "current", "expected",
            "why", title=f"freshness: {body['status']}",
        )  # fmt: skip
        for row in body["event_types"]:
            age = row["age_s"]
            table.add_row(
                row["event_type"],
                _status(row["status"]),
                (row["last_event_at"] or "-")[:19],
                "-" if age is None else f"{age / 3600:.1f} h",
                str(row["reference_events"]),
                str(row["current_events"]),
                _num(row["expected_current_events"], 1),
                "; ".join(row["reasons"]),
            )
        out.print(table)
        if body["sources"]:
            sources = Table("source", "status", "events", "dead letters", "rate")
            for row in body["sources"]:
                sources.add_row(
                    row["source"],
                    _status(row["status"]),
                    str(row["events"]),
                    str(row["dead_letters"]),
                    f"{row['violation_rate']:.2%}",
                )
            out.print(sources)
    _finish([report], as_json)


@monitor_app.command("reports")
def monitor_reports(
    kind: Annotated[str | None, typer.Option(help="drift, performance or freshness")] = None,
    event_type: Annotated[
        str | None, typer.Option(help="the report's scope: an event type ('' for all)")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    as_json: AsJson = False,
) -> None:
    """The latest stored reports, newest first; exit 3 when the newest report of any kind
    and scope shown is an alert."""
    rl = app_or_exit()
    try:
        with _refusals():
            reports = rl.monitoring.reports(kind=kind, scope=event_type, limit=limit)
    finally:
        rl.close()
    if not as_json:
        table = Table("id", "kind", "scope", "status", "created", "summary")
        for r in reports:
            table.add_row(
                str(r.id),
                r.kind,
                r.scope or "(all)",
                _status(r.status),
                r.created_at.isoformat(timespec="seconds"),
                _summary(r),
            )
        out.print(table)
    newest: dict[tuple[str, str], Report] = {}
    for r in reports:
        newest.setdefault((r.kind, r.scope), r)
    if as_json:
        out.print_json(json.dumps([r.as_dict() for r in reports]))
    if any(r.status == "alert" for r in newest.values()):
        raise typer.Exit(3)


def _summary(r: Report) -> str:
    body = r.body
    if r.kind == "drift":
        bad = [f["feature"] for f in body.get("features", []) if f["status"] in ("warn", "alert")]
        return f"{len(bad)} features drifted: {', '.join(bad[:5])}" if bad else "no drift"
    if r.kind == "performance":
        mature = body.get("mature", {})
        return f"mature cohorts: recall {_num(mature.get('recall'))}"
    rows = [x for x in body.get("event_types", []) if x["status"] != "ok"]
    return ", ".join(f"{x['event_type']} {x['status']}" for x in rows) or "fresh"
