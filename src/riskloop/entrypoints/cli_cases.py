"""``riskloop cases``: the review queue from a terminal, and the case jobs for cron."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from riskloop.cases.model import PRIORITIES
from riskloop.entrypoints.cli_catalog import refusals
from riskloop.entrypoints.cli_common import app_or_exit, err, out

cases_app = typer.Typer(no_args_is_help=True, help="Review cases: queue, verdicts, SAR drafts.")

Actor = Annotated[str, typer.Option("--as", help="who acts (recorded in the timeline)")]


@cases_app.command("sync")
def cases_sync() -> None:
    """Open cases for new REVIEW decisions, finish label write-backs, raise SLA tasks (a
    server does this every second; run it from cron when no server runs)."""
    rl = app_or_exit()
    try:
        with refusals("sync failed"):
            report = rl.cases.sync()
    finally:
        rl.close()
    out.print_json(json.dumps(report.as_dict()))


@cases_app.command("list")
def cases_list(
    status: Annotated[list[str], typer.Option(help="repeatable")] = [],  # noqa: B006
    queue: Annotated[str | None, typer.Option()] = None,
    assignee: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The queue in work order (priority, then due time)."""
    rl = app_or_exit()
    try:
        with refusals("cannot list cases"):
            rl.cases.sync()
            found = rl.cases.search(
                status=status or None, queue=queue, assignee=assignee, limit=limit
            )
    finally:
        rl.close()
    now = datetime.now(UTC)
    if as_json:
        out.print_json(json.dumps([c.as_dict(now) for c in found]))
        return
    table = Table("case", "entity", "queue", "priority", "status", "assignee", "due", "decisions")
    for c in found:
        due = c.due_at.isoformat()[:16] + (" [red]breached[/red]" if c.breached(now) else "")
        table.add_row(
            c.case_id,
            f"{c.entity_type}:{c.entity_key[:20]}",
            c.queue,
            PRIORITIES[c.priority],
            c.status.value,
            c.assignee or "-",
            due,
            str(c.body.get("decisions", 0)),
        )
    out.print(table)


@cases_app.command("show")
def cases_show(case_id: str) -> None:
    """The case page as JSON: decisions with explanations, labels, timeline, notes."""
    rl = app_or_exit()
    try:
        with refusals("cannot show the case"):
            view = rl.cases.view(case_id)
    finally:
        rl.close()
    out.print_json(json.dumps(view, default=str))


@cases_app.command("claim")
def cases_claim(case_id: str, analyst: Actor) -> None:
    """Take a case for review (refused if someone else holds it)."""
    rl = app_or_exit()
    try:
        with refusals("not claimed"):
            case = rl.cases.claim(case_id, analyst)
    finally:
        rl.close()
    out.print(f"{case.case_id} is in review by {case.assignee}")


@cases_app.command("next")
def cases_next(analyst: Actor, queue: Annotated[str | None, typer.Option()] = None) -> None:
    """Claim the most urgent case you may take; exit 3 when none waits."""
    rl = app_or_exit()
    try:
        with refusals("nothing claimed"):
            rl.cases.sync()
            case = rl.cases.next_case(analyst, queue=queue)
    finally:
        rl.close()
    if case is None:
        err.print(f"no case waits in {queue or 'any queue'}")
        raise typer.Exit(3)
    out.print(f"{case.case_id} ({case.entity_type} {case.entity_key}) is in review by {analyst}")


@cases_app.command("assign")
def cases_assign(
    actor: Actor,
    to: Annotated[list[str], typer.Option("--to", help="an analyst, repeatable")],
    case_id: Annotated[str | None, typer.Option("--case", help="one case (else: deal)")] = None,
    queue: Annotated[str | None, typer.Option(help="deal this queue's cases only")] = None,
) -> None:
    """Assign one case (--case) to an analyst, or deal the unassigned open cases to the
    analysts given, in turn (round-robin)."""
    rl = app_or_exit()
    try:
        with refusals("not assigned"):
            if case_id is not None:
                if len(to) != 1:
                    err.print("[red]error:[/red] --case takes exactly one --to")
                    raise typer.Exit(2)
                case = rl.cases.assign(case_id, to[0], actor=actor)
                dealt = [{"case_id": case.case_id, "assignee": str(case.assignee)}]
            else:
                rl.cases.sync()
                dealt = rl.cases.assign_round_robin(to, actor=actor, queue=queue)
    finally:
        rl.close()
    out.print_json(json.dumps(dealt))


@cases_app.command("reject")
def cases_reject(case_id: str, approver: Actor, note: str) -> None:
    """Four eyes: send a proposed resolution back to its analyst, saying why."""
    rl = app_or_exit()
    try:
        with refusals("not rejected"):
            case = rl.cases.reject(case_id, approver, note=note)
    finally:
        rl.close()
    out.print(f"{case.case_id} is {case.status.value}")


@cases_app.command("note")
def cases_note(case_id: str, text: str, author: Actor) -> None:
    """Add a note (encrypted at rest; card numbers masked)."""
    rl = app_or_exit()
    try:
        with refusals("not noted"):
            rl.cases.note(case_id, author, text)
    finally:
        rl.close()
    out.print("noted")


@cases_app.command("resolve")
def cases_resolve(
    case_id: str,
    resolution: Annotated[str, typer.Argument(help="fraud, not_fraud or escalated")],
    actor: Actor,
    action: Annotated[str, typer.Option(help="none, block_card, freeze_account...")] = "none",
    note: Annotated[str | None, typer.Option()] = None,
    typology: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Give the verdict: labels are written for every decision of the case."""
    rl = app_or_exit()
    try:
        with refusals("not resolved"):
            case = rl.cases.resolve(
                case_id,
                actor=actor,
                resolution=resolution,
                action=action,
                note=note,
                typology=typology,
            )
    finally:
        rl.close()
    out.print(f"{case.case_id} is {case.status.value}")


@cases_app.command("approve")
def cases_approve(case_id: str, approver: Actor, note: str | None = None) -> None:
    """Four eyes: approve the proposed resolution (not by who proposed it)."""
    rl = app_or_exit()
    try:
        with refusals("not approved"):
            case = rl.cases.approve(case_id, approver, note=note)
    finally:
        rl.close()
    out.print(f"{case.case_id} is {case.status.value}")


@cases_app.command("sar")
def cases_sar(
    case_id: str,
    actor: Actor,
    fmt: Annotated[str, typer.Option("--format", help="md or json")] = "md",
    output: Annotated[Path | None, typer.Option("--out", help="write to a file")] = None,
) -> None:
    """A suspicious-activity-report DRAFT from the case's facts, for a person to sign."""
    if fmt not in ("md", "json"):
        err.print("[red]error:[/red] --format must be md or json")
        raise typer.Exit(2)
    rl = app_or_exit()
    try:
        with refusals("no draft"):
            if fmt == "md":
                text = rl.cases.sar_markdown(case_id, actor=actor)
            else:
                text = json.dumps(rl.cases.sar_draft(case_id, actor=actor), indent=2)
    finally:
        rl.close()
    if output is None:
        print(text)
    else:
        output.write_text(text, encoding="utf-8")
        err.print(f"wrote {output}")
