"""``riskloop labels``: what outcomes came back, and which wait for their event."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from riskloop.entrypoints.cli_catalog import refusals
from riskloop.entrypoints.cli_common import app_or_exit, out

labels_app = typer.Typer(no_args_is_help=True, help="Labels: chargebacks, verdicts, reports.")

Kind = Annotated[
    str | None,
    typer.Option(
        help="chargeback, dispute, refund_fraud, analyst, customer_report or confirmed_good"
    ),
]


def _table(rows: list[dict[str, object]]) -> Table:
    table = Table("label", "kind", "event", "fraud", "reported", "source", "pending / why")
    for r in rows:
        why = r.get("unmatched") or ("event not known yet" if r["pending"] else "")
        table.add_row(
            str(r["label_id"]),
            str(r["kind"]),
            str(r["event_id"] or "-"),
            {True: "fraud", False: "not fraud", None: "-"}[r["fraud"]],  # type: ignore[index]
            str(r["reported_at"])[:19],
            str(r["source"]),
            str(why),
        )
    return table


@labels_app.command("list")
def labels_list(
    event_id: Annotated[str | None, typer.Option(help="labels of one event")] = None,
    kind: Kind = None,
    pending: Annotated[bool | None, typer.Option("--pending/--matched")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 100,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Labels in arrival order."""
    rl = app_or_exit()
    try:
        with refusals("cannot list labels"):
            rl.labels.sync()
            rows = [
                e.as_dict()
                for e in rl.labels.labels(
                    target_event_id=event_id, kind=kind, pending=pending, limit=limit
                )
            ]
    finally:
        rl.close()
    if as_json:
        out.print_json(json.dumps(rows))
    else:
        out.print(_table(rows))


@labels_app.command("show")
def labels_show(event_id: str) -> None:
    """An event's labels and the one that stands by precedence."""
    rl = app_or_exit()
    try:
        with refusals("cannot read labels"):
            rl.labels.sync()
            view = rl.labels.for_event(event_id)
    finally:
        rl.close()
    out.print_json(json.dumps(view))


@labels_app.command("pending")
def labels_pending(
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 100,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Labels waiting for their event, with the reason; exit 3 when any wait."""
    rl = app_or_exit()
    try:
        with refusals("cannot read labels"):
            rl.labels.sync()
            report = rl.labels.pending_report(limit=limit)
    finally:
        rl.close()
    if as_json:
        out.print_json(json.dumps(report))
    else:
        out.print(f"{report['pending']} of {report['total']} labels pending")
        for why, n in report["reasons"].items():
            out.print(f"  {n:>6}  {why}")
        if report["labels"]:
            out.print(_table(report["labels"]))
    if report["pending"]:
        raise typer.Exit(3)


@labels_app.command("resolve")
def labels_resolve() -> None:
    """Match pending labels that came with keys against the payments known now (a job:
    run it after a late feed, or from cron)."""
    rl = app_or_exit()
    try:
        with refusals("cannot resolve labels"):
            rl.labels.sync()
            got = rl.labels.resolve_pending()
    finally:
        rl.close()
    out.print_json(json.dumps(got))
