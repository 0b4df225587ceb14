"""``riskloop screen NAME``, ``riskloop screening ...`` and ``riskloop kyc ...``: sanctions and
PEP screening, its hits and suppressions, and KYC profiles from the command line. Bad input
exits 2 naming the option; ``screen`` exits 3 when a match reaches the alert threshold (for
scripts), like the monitoring commands."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from riskloop.entrypoints.cli_catalog import Author, _default_author
from riskloop.entrypoints.cli_common import app_or_exit, err, out
from riskloop.entrypoints.cli_monitor import _refusals
from riskloop.errors import FieldError, InvalidInput
from riskloop.service.screening import RescreenReport, parse_query

screening_app = typer.Typer(
    no_args_is_help=True, help="Sanctions/PEP screening: hits, suppressions, re-screening."
)
kyc_app = typer.Typer(no_args_is_help=True, help="KYC/KYB profiles and periodic reviews.")
AsJson = Annotated[bool, typer.Option("--json", help="print JSON")]


def _when(raw: str | None, option: str) -> datetime | None:
    if raw is None:
        return None
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput([FieldError(option, "an ISO 8601 date or time")]) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _rescreen_with_progress(rl: Any, *, full: bool) -> RescreenReport:
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("re-screening customers", total=None)

        def progress(r: RescreenReport) -> None:
            bar.update(task, description=f"re-screened {r.customers:,} customers")

        report: RescreenReport = rl.screening.rescreen(full=full, progress=progress)
        return report


def load_sanctions(
    path: Path, *, fmt: str | None, source: str | None, author: str, rescreen: bool
) -> None:
    """``riskloop lists load PATH`` without ``--list``."""
    if fmt is not None and fmt not in ("ofac", "un", "ftm"):
        err.print("[red]✗[/red] --format: ofac, un or ftm")
        raise typer.Exit(2)
    rl = app_or_exit()
    try:
        with _refusals():
            with err.status(f"reading {path}"):
                result = rl.screening.load(path, fmt=fmt, source=source, actor=author)
            doc: dict[str, Any] = result.as_dict()
            for key in ("added_ids", "removed_ids", "changed_ids"):
                ids = doc["diff"].pop(key, [])
                doc["diff"][key] = ids[:20] + (["..."] if len(ids) > 20 else [])
            if rescreen and result.changed:
                rl.kyc.sync()
                doc["rescreen"] = _rescreen_with_progress(rl, full=False).as_dict()
    finally:
        rl.close()
    out.print_json(json.dumps(doc))


def screen(
    name: Annotated[str, typer.Argument(help="the name to screen")],
    kind: Annotated[str | None, typer.Option(help="person, organization, vessel, ...")] = None,
    dob: Annotated[
        str | None, typer.Option("--dob", help="date of birth: YYYY, YYYY-MM or YYYY-MM-DD")
    ] = None,
    country: Annotated[str | None, typer.Option(help="ISO country code, e.g. IR")] = None,
    identifier: Annotated[
        list[str] | None, typer.Option("--id", help="passport or registration number")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 10,
    as_json: AsJson = False,
) -> None:
    """Screen a name against the loaded sanctions/PEP lists; exit 3 on an alert."""
    rl = app_or_exit()
    try:
        with _refusals():
            query = parse_query(
                {
                    "name": name,
                    "kind": kind,
                    "date_of_birth": dob,
                    "country": country,
                    "identifiers": identifier or [],
                }
            )
            matches = rl.screening.search(query, limit=limit)
            versions = rl.screening.versions()
    finally:
        rl.close()
    if not versions:
        err.print("[yellow]no sanctions list is loaded[/yellow]: riskloop lists load PATH")
    if as_json:
        out.print_json(json.dumps({"matches": matches, "lists": versions}))
    else:
        table = Table("score", "alert", "list", "entry", "name", "matched", "why")
        for m in matches:
            table.add_row(
                f"{m['score']:.2f}",
                "[red]yes[/red]" if m["alert"] else "no",
                m["source"],
                m["entry_id"],
                m["name"],
                m["matched_name"],
                m["explanation"],
            )
        out.print(table)
    if any(m["alert"] for m in matches):
        raise typer.Exit(3)


@screening_app.command("lists")
def lists(as_json: AsJson = False) -> None:
    """Loaded list versions with their diffs."""
    rl = app_or_exit()
    try:
        history = rl.screening.lists()
    finally:
        rl.close()
    if as_json:
        out.print_json(json.dumps(history))
        return
    table = Table("list", "version", "loaded", "by", "entries", "added", "removed", "changed")
    for h in history:
        d = h["diff"]
        table.add_row(
            h["source"],
            str(h["version"]),
            h["loaded_at"][:19],
            h["loaded_by"],
            str(h["entries"]),
            str(d.get("added", "")),
            str(d.get("removed", "")),
            str(d.get("changed", "")),
        )
    out.print(table)


@screening_app.command("hits")
def hits(
    status: Annotated[
        str | None, typer.Option(help="open, confirmed, false_positive, closed")
    ] = "open",
    customer: Annotated[str | None, typer.Option(help="one customer id")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    as_json: AsJson = False,
) -> None:
    """Potential matches found by screening customers."""
    rl = app_or_exit()
    try:
        with _refusals():
            found = rl.screening.hits(status=status, customer_id=customer, limit=limit)
    finally:
        rl.close()
    if as_json:
        out.print_json(json.dumps([h.as_dict() for h in found]))
        return
    table = Table("hit", "customer", "score", "list", "entry", "name", "status", "task")
    for h in found:
        table.add_row(
            str(h.id),
            h.customer_id,
            f"{h.score:.2f}",
            h.source,
            h.entry_id,
            str(h.match.get("name")),
            h.status.value,
            h.task_id or "",
        )
    out.print(table)


@screening_app.command("resolve")
def resolve(
    hit_id: Annotated[int, typer.Argument(min=1)],
    verdict: Annotated[str, typer.Argument(help="confirmed or false_positive")],
    note: Annotated[str, typer.Option(help="why (required for false_positive)")] = "",
    expires: Annotated[str | None, typer.Option(help="suppression expiry, ISO 8601")] = None,
    author: Author = "",
) -> None:
    """Confirm a hit, or mark it not a match (suppressed until the list entry changes)."""
    rl = app_or_exit()
    try:
        with _refusals():
            done = rl.screening.resolve(
                hit_id,
                verdict,
                actor=author or _default_author(),
                note=note,
                expires_at=_when(expires, "--expires"),
            )
    finally:
        rl.close()
    out.print_json(json.dumps(done.as_dict()))


@screening_app.command("suppress")
def suppress(
    customer: Annotated[str, typer.Argument(help="customer id")],
    source: Annotated[str, typer.Argument(help="list, e.g. ofac_sdn")],
    entry: Annotated[str, typer.Argument(help="the list's entry id")],
    note: Annotated[str, typer.Option(help="why this is not the customer")],
    expires: Annotated[str | None, typer.Option(help="ISO 8601 expiry")] = None,
    author: Author = "",
) -> None:
    """Mark a list entry as not this customer."""
    rl = app_or_exit()
    try:
        with _refusals():
            s = rl.screening.suppress(
                customer,
                source,
                entry,
                note=note,
                author=author or _default_author(),
                expires_at=_when(expires, "--expires"),
            )
    finally:
        rl.close()
    out.print_json(json.dumps(s.as_dict()))


@screening_app.command("suppressions")
def suppressions(
    customer: Annotated[str | None, typer.Option(help="one customer id")] = None,
) -> None:
    """Active suppressions with their notes (revealed from the vault)."""
    rl = app_or_exit()
    try:
        found = rl.screening.suppressions(customer, reveal=True)
    finally:
        rl.close()
    out.print_json(json.dumps(found))


@screening_app.command("unsuppress")
def unsuppress(suppression_id: Annotated[int, typer.Argument(min=1)], author: Author = "") -> None:
    """Revoke a suppression: the entry alerts again on the next screen."""
    rl = app_or_exit()
    try:
        with _refusals():
            rl.screening.revoke(suppression_id, actor=author or _default_author())
    finally:
        rl.close()
    out.print(json.dumps({"revoked": suppression_id}))


@screening_app.command("rescreen")
def rescreen(
    full: Annotated[bool, typer.Option(help="every customer against whole lists")] = False,
) -> None:
    """Screen every customer behind the current list versions; new hits raise tasks."""
    rl = app_or_exit()
    try:
        with _refusals():
            rl.kyc.sync()
            report = _rescreen_with_progress(rl, full=full)
    finally:
        rl.close()
    out.print_json(json.dumps(report.as_dict()))


@kyc_app.command("sync")
def kyc_sync() -> None:
    """Project new kyc_record events into profiles and screen the changed customers."""
    rl = app_or_exit()
    try:
        with _refusals():
            report = rl.kyc.sync()
    finally:
        rl.close()
    out.print_json(json.dumps(report.as_dict()))


@kyc_app.command("show")
def kyc_show(
    customer: Annotated[str, typer.Argument(help="customer id")],
    reveal: Annotated[bool, typer.Option(help="show the sealed names and dates")] = False,
) -> None:
    """One customer's KYC profile and screening hits."""
    rl = app_or_exit()
    try:
        with _refusals():
            rl.kyc.sync()
            doc = rl.kyc.get(customer, reveal=reveal)
    finally:
        rl.close()
    out.print_json(json.dumps(doc))


@kyc_app.command("list")
def kyc_list(
    status: Annotated[
        str | None, typer.Option(help="unscreened, clear, potential_match, confirmed_match")
    ] = None,
    due_within: Annotated[
        int | None, typer.Option(help="reviews due within this many days", min=0)
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 100,
) -> None:
    """Profiles by screening status or review due date."""
    rl = app_or_exit()
    try:
        with _refusals():
            rl.kyc.sync()
            found = rl.kyc.search(sanctions_status=status, due_within_days=due_within, limit=limit)
    finally:
        rl.close()
    table = Table("customer", "subject", "verification", "risk", "next review", "sanctions", "pep")
    for p in found:
        table.add_row(
            p.customer_id,
            p.subject_kind,
            p.verification_status,
            p.risk_rating or "",
            p.next_review_at.date().isoformat() if p.next_review_at else "",
            p.sanctions_status.value,
            p.pep_status.value,
        )
    out.print(table)


@kyc_app.command("reviews")
def kyc_reviews(
    within: Annotated[int, typer.Option(help="also reviews due within N days", min=0)] = 0,
) -> None:
    """Raise a review task for every customer whose periodic KYC review is due."""
    rl = app_or_exit()
    try:
        with _refusals():
            rl.kyc.sync()
            due = rl.kyc.due_reviews(within_days=within)
    finally:
        rl.close()
    out.print(json.dumps({"due": len(due), "customers": [p.customer_id for p in due][:100]}))
