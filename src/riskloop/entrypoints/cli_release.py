"""``riskloop backtest``, ``riskloop shadow`` and ``riskloop canary``: measure a change
before and while it goes live."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from riskloop.entrypoints.cli_catalog import _default_author, _read, refusals
from riskloop.entrypoints.cli_common import app_or_exit, out
from riskloop.release.compare import OUTCOMES
from riskloop.service.backtest import parse_spec

canary_app = typer.Typer(no_args_is_help=True, help="Canaries: a share of traffic, guarded.")

When = Annotated[str | None, typer.Option(help="ISO 8601 time with a timezone")]
OutFile = Annotated[Path | None, typer.Option(dir_okay=False, writable=True)]


def _summary(report: dict[str, Any]) -> Table:
    table = Table("", *OUTCOMES, "fraud caught", "fraud missed (amount)", "good declined")
    for side in ("baseline", "candidate"):
        r = report[side]
        table.add_row(
            "production" if side == "baseline" else "candidate",
            *(str(r["outcomes"][o]) for o in OUTCOMES),
            f"{r['fraud']['caught']} ({r['fraud']['recall'] or 0:.1%})",
            f"{r['fraud']['missed']} ({r['fraud']['missed_amount']:,.0f})",
            f"{r['good_declined']['count']} ({r['good_declined']['amount']:,.0f})",
        )
    return table


def _rules(report: dict[str, Any]) -> Table:
    table = Table("rule", "hits", "fraud hits", "precision", "recall", "only rule on fraud")
    for r in report["rules"][:25]:
        table.add_row(
            r["rule"],
            str(r["hits"]),
            str(r["fraud_hits"]),
            "-" if r["precision"] is None else f"{r['precision']:.1%}",
            "-" if r["recall"] is None else f"{r['recall']:.1%}",
            str(r["only_rule_on_fraud"]),
        )
    return table


def backtest(
    playbook: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="candidate rules/policies (YAML/JSON)"),
    ] = None,
    policy: Annotated[str | None, typer.Option(help="a saved policy version, id@version")] = None,
    model: Annotated[str | None, typer.Option(help="a registered model, name@version")] = None,
    since: When = None,
    until: When = None,
    days: Annotated[int, typer.Option(min=1, help="without --since: the last N days")] = 7,
    event_type: Annotated[str | None, typer.Option()] = None,
    source: Annotated[str, typer.Option(help="decisions (recorded) or log (replay)")] = (
        "decisions"
    ),
    author: Annotated[str | None, typer.Option()] = None,
    note: Annotated[str, typer.Option()] = "",
    out_file: Annotated[Path | None, typer.Option("--out", dir_okay=False)] = None,
    plot: OutFile = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Replay recorded events through a candidate and compare with production."""
    doc = _read(playbook) if playbook is not None else {}
    if not isinstance(doc, dict):
        doc = {"rules": doc}
    now = datetime.now(UTC)
    end = until or now.isoformat()
    start = since or (datetime.fromisoformat(end) - timedelta(days=days)).isoformat()
    raw = {
        "since": start,
        "until": end,
        "event_type": event_type,
        "rules": doc.get("rules") or [],
        "policies": doc.get("policies") or [],
        "policy": policy,
        "model": model,
        "source": source,
        "note": note,
    }
    rl = app_or_exit()
    try:
        with refusals("backtest refused"):
            spec = parse_spec(raw)
            with Progress(
                TextColumn("replaying"),
                BarColumn(),
                MofNCompleteColumn(),
                transient=True,
                disable=as_json,
            ) as bar:
                task = bar.add_task("events", total=None)
                report = rl.backtests.run(
                    spec,
                    author=author or _default_author(),
                    on_events=lambda n: bar.advance(task, n),
                )
    finally:
        rl.close()
    if out_file is not None:
        out_file.write_text(json.dumps(report, indent=2), "utf-8")
    if plot is not None:
        from riskloop.release.plots import backtest_png

        plot.write_bytes(
            backtest_png({**report, "candidate_changed_rules": report["change"]["changed_rules"]})
        )
    if as_json:
        out.print_json(json.dumps(report))
        return
    out.print(
        f"backtest [bold]{report['backtest_id']}[/bold]: {report['events']:,} events "
        f"({report['source']}), {report['changed']['count']:,} outcomes change, "
        f"{report['seconds']} s"
    )
    out.print(_summary(report))
    if report["rules"]:
        out.print(_rules(report))


def shadow(
    since: When = None,
    days: Annotated[int, typer.Option(min=1)] = 7,
    event_type: Annotated[str | None, typer.Option()] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Shadow policies against production, and shadow rules, on the recorded decisions."""
    now = datetime.now(UTC)
    rl = app_or_exit()
    try:
        with refusals("shadow report refused"):
            start = datetime.fromisoformat(since) if since else now - timedelta(days=days)
            report = rl.backtests.shadow(start, now, event_type)
    finally:
        rl.close()
    if as_json:
        out.print_json(json.dumps(report))
        return
    if not report["policies"] and not report["rules"]:
        out.print("no shadow policy or rule ran in the window")
    for name, r in report["policies"].items():
        out.print(f"[bold]{name}[/bold] on {r['events']:,} decisions")
        out.print(_summary(r))
    if report["rules"]:
        table = Table(
            "shadow rule",
            "evaluated",
            "hits",
            "fraud hits",
            "precision",
            "recall",
            "fraud production approved",
        )
        for r in report["rules"]:
            table.add_row(
                r["rule"],
                str(r["evaluated"]),
                str(r["hits"]),
                str(r["fraud_hits"]),
                "-" if r["precision"] is None else f"{r['precision']:.1%}",
                "-" if r["recall"] is None else f"{r['recall']:.1%}",
                str(r["fraud_production_approved"]),
            )
        out.print(table)


def _canary_table(rows: list[dict[str, Any]]) -> Table:
    table = Table("canary", "status", "event type", "candidate", "baseline", "share", "last check")
    for c in rows:
        check = c.get("last_check") or {}
        table.add_row(
            c["canary_id"],
            c["status"],
            c["event_type"],
            c["candidate"],
            str(c["baseline"]),
            f"{c['share']:.0%}",
            f"{check.get('action', '-')} {','.join(check.get('breaches') or [])}",
        )
    return table


@canary_app.command("start")
def canary_start(
    kind: Annotated[str, typer.Option(help="model or policy")],
    event_type: Annotated[str, typer.Option()],
    candidate: Annotated[str | None, typer.Option(help="name@version / policy id@version")] = (
        None
    ),
    playbook: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="rules and a policy")
    ] = None,
    owner: Annotated[str | None, typer.Option()] = None,
    steps: Annotated[str | None, typer.Option(help="shares:minutes, e.g. 0.05:30,0.5:60,1:60")] = (
        None
    ),
    guardrails: Annotated[str | None, typer.Option(help='JSON, e.g. {"decline_rate": 0.01}')] = (
        None
    ),
    author: Annotated[str | None, typer.Option()] = None,
    reason: Annotated[str, typer.Option()] = "",
) -> None:
    """Start a canary on a share of one event type's customers."""
    doc: dict[str, Any] = {
        "kind": kind,
        "event_type": event_type,
        "author": author or _default_author(),
    }
    if candidate:
        doc["candidate"] = candidate
    if owner:
        doc["owner"] = owner
    if reason:
        doc["reason"] = reason
    if playbook is not None:
        found = _read(playbook)
        doc["rules"] = found.get("rules") or [] if isinstance(found, dict) else found
        doc["policies"] = found.get("policies") or [] if isinstance(found, dict) else []
    rl = app_or_exit()
    try:
        with refusals("canary refused"):
            if steps:
                doc["steps"] = [
                    {
                        "share": float(s.partition(":")[0]),
                        "min_minutes": float(s.partition(":")[2] or 0),
                    }
                    for s in steps.split(",")
                ]
            if guardrails:
                doc["guardrails"] = json.loads(guardrails)
            canary = rl.canaries.start(doc)
    except ValueError as exc:
        out.print(f"[red]bad --steps or --guardrails:[/red] {exc}")
        raise typer.Exit(2) from None
    finally:
        rl.close()
    out.print(_canary_table([canary.as_dict()]))


@canary_app.command("list")
def canary_list(
    status: Annotated[str | None, typer.Option()] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Every canary, oldest first, with its share and last check."""
    rl = app_or_exit()
    try:
        rows = [c.as_dict() for c in rl.canaries.all(status)]
    finally:
        rl.close()
    if as_json:
        out.print_json(json.dumps(rows))
        return
    out.print(_canary_table(rows))


@canary_app.command("show")
def canary_show(canary_id: str) -> None:
    rl = app_or_exit()
    try:
        with refusals("not found"):
            canary = rl.canaries.get(canary_id)
    finally:
        rl.close()
    out.print_json(json.dumps(canary.as_dict()))


@canary_app.command("check")
def canary_check() -> None:
    """Judge every running canary now (what the server does every few seconds; for cron)."""
    rl = app_or_exit()
    try:
        with refusals("check failed"):
            checks = rl.canaries.check()
    finally:
        rl.close()
    out.print_json(json.dumps(checks))


@canary_app.command("stop")
def canary_stop(
    canary_id: str,
    reason: Annotated[str, typer.Option()],
    author: Annotated[str | None, typer.Option()] = None,
) -> None:
    """End a running canary by hand; its traffic returns to production."""
    rl = app_or_exit()
    try:
        with refusals("cannot stop"):
            canary = rl.canaries.stop(canary_id, author=author or _default_author(), reason=reason)
    finally:
        rl.close()
    out.print(_canary_table([canary.as_dict()]))
