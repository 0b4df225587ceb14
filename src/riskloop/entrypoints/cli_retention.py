"""``riskloop retention ...``: run the retention job now (or see what it would do), and
place, release and list legal holds. Exit 2 on bad input naming the option, 1 on a refusal
(an unknown or already released hold)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from riskloop.entrypoints.cli_catalog import _default_author, refusals
from riskloop.entrypoints.cli_common import app_or_exit, err, out
from riskloop.errors import FieldError, InvalidInput
from riskloop.service.retention import SUBJECTS, LegalHold, RetentionReport

retention_app = typer.Typer(
    no_args_is_help=True,
    help="Retention: delete or anonymise what is past its retention; legal holds.",
)
holds_app = typer.Typer(
    no_args_is_help=True, help="Legal holds: keep a customer's, an event's or a case's data."
)
retention_app.add_typer(holds_app, name="holds")

AsJson = Annotated[bool, typer.Option("--json", help="print JSON")]
Actor = Annotated[str | None, typer.Option(help="who acts (default: your user name)")]


@contextmanager
def _refusals() -> Iterator[None]:
    """Bad input: every problem with its option, exit 2; any other refusal: exit 1."""
    with refusals("refused"):
        try:
            yield
        except InvalidInput as exc:
            for e in exc.errors:
                err.print(f"[red]✗[/red] --{e.field.replace('_', '-')}: {escape(e.reason)}")
            raise typer.Exit(2) from None


def _as_of(raw: str | None) -> datetime | None:
    if raw is None:
        return None
    try:
        when = datetime.fromisoformat(raw.strip())
    except ValueError:
        reason = "an ISO date or time, e.g. 2026-11-01 or 2026-11-01T00:00:00Z"
        raise InvalidInput([FieldError("as_of", reason)]) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _print_report(report: RetentionReport) -> None:
    done = "would process" if report.dry_run else "processed"
    table = Table("data", "action", "retention (days)", "before (UTC)", done, "held", "kept")
    for c in [*report.events, *report.other]:
        table.add_row(
            c.name,
            c.action,
            str(c.days) if c.days else "expired",
            c.before.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
            str(c.processed),
            str(c.held) if c.held else "-",
            str(c.kept) if c.kept else "-",
        )
    out.print(table)
    totals = report.totals()
    verb = "would delete" if report.dry_run else "deleted"
    out.print(
        f"{'dry run ' if report.dry_run else ''}{report.run_id}: {verb} {totals['deleted']}, "
        f"anonymised {totals['anonymised']} events ({totals['held']} held); "
        f"{totals['other']} other records",
        highlight=False,
    )
    if report.recovered:
        out.print(f"accounted for interrupted run {report.recovered['run_id']}", highlight=False)


@retention_app.command("run")
def retention_run(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="count per contract and action; change nothing")
    ] = False,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="ISO date or time (UTC if no zone); default now; future: dry run only"
        ),
    ] = None,
    actor: Actor = None,
    as_json: AsJson = False,
) -> None:
    """Delete or anonymise the events and other personal data past their retention,
    except what legal holds keep (what `riskloop jobs run retention` does)."""
    with _refusals():
        when = _as_of(as_of)
    rl = app_or_exit()
    try:
        with _refusals():
            report = rl.retention.run(as_of=when, dry_run=dry_run, actor=actor or _default_author())
    finally:
        rl.close()
    if as_json:
        out.print_json(json.dumps(report.as_dict()))
    else:
        _print_report(report)


def _hold_row(table: Table, h: LegalHold) -> None:
    table.add_row(
        h.hold_id,
        h.subject,
        escape(h.value),
        escape(h.reason[:60]),
        escape(h.placed_by),
        h.placed_at.strftime("%Y-%m-%d %H:%M"),
        f"{escape(h.released_by or '')} {h.released_at:%Y-%m-%d %H:%M}" if h.released_at else "-",
    )


@holds_app.command("add")
def holds_add(
    subject: Annotated[str, typer.Option(help=" | ".join(SUBJECTS))],
    value: Annotated[str, typer.Option(help="the customer id, event id or case id")],
    reason: Annotated[str, typer.Option(help="why the data must be kept (a matter, a request)")],
    actor: Actor = None,
    as_json: AsJson = False,
) -> None:
    """Place a legal hold: the data it covers is not deleted or anonymised until released."""
    rl = app_or_exit()
    try:
        with _refusals():
            hold = rl.retention.place_hold(subject, value, reason, actor=actor or _default_author())
    finally:
        rl.close()
    if as_json:
        out.print_json(json.dumps(hold.as_dict()))
    else:
        out.print(f"placed {hold.hold_id} on {hold.subject} {escape(hold.value)}", highlight=False)


@holds_app.command("release")
def holds_release(
    hold_id: Annotated[str, typer.Argument(help="the hold (see `riskloop retention holds list`)")],
    actor: Actor = None,
    as_json: AsJson = False,
) -> None:
    """Release a hold; the next run purges what it kept if that is past retention."""
    rl = app_or_exit()
    try:
        with _refusals():
            hold = rl.retention.release_hold(hold_id, actor=actor or _default_author())
    finally:
        rl.close()
    if as_json:
        out.print_json(json.dumps(hold.as_dict()))
    else:
        out.print(f"released {hold.hold_id}", highlight=False)


@holds_app.command("list")
def holds_list(
    status: Annotated[str, typer.Option(help="active | released | all")] = "active",
    as_json: AsJson = False,
) -> None:
    """Legal holds, oldest first (the active ones by default)."""
    rl = app_or_exit()
    try:
        with _refusals():
            found = rl.retention.holds(status=status)
    finally:
        rl.close()
    if as_json:
        out.print_json(json.dumps([h.as_dict() for h in found]))
        return
    table = Table("hold", "subject", "value", "reason", "placed by", "placed (UTC)", "released")
    for h in found:
        _hold_row(table, h)
    out.print(table)
