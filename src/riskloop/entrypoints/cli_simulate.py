"""``riskloop simulate OUT``: write realistic, deterministic traffic (events, labels, the
ground truth and a manifest) to import with ``riskloop import events|labels``. Bad options
exit 2 naming the option; nothing is read from or written to the riskloop data directory."""

from __future__ import annotations

import shlex
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from riskloop.entrypoints.cli_common import err
from riskloop.entrypoints.cli_common import out as console
from riskloop.errors import InvalidInput
from riskloop.simulate import DEFAULT_END, SimulationSummary, simulate

_OPTION = {
    "customers": "--customers",
    "days": "--days",
    "seed": "--seed",
    "fraud_rate": "--fraud-rate",
    "end": "--end",
}


def _end(raw: str | None) -> datetime | None:
    if raw is None:
        return None
    try:
        when = datetime.fromisoformat(raw.strip())
    except ValueError:
        got = escape(repr(raw))
        err.print(f"[red]✗[/red] --end: an ISO 8601 date or time, e.g. 2026-03-01 (got {got})")
        raise typer.Exit(2) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _print(summary: SimulationSummary, seconds: float) -> None:
    table = Table(title=f"simulated {summary.start:%Y-%m-%d} .. {summary.end:%Y-%m-%d}")
    table.add_column("what")
    table.add_column("count", justify="right")
    for event_type, n in summary.events.items():
        table.add_row(event_type, f"{n:,}")
    table.add_row("[bold]events[/bold]", f"[bold]{summary.total_events:,}[/bold]")
    for pattern, n in summary.fraud_events.items():
        incidents = summary.incidents.get(pattern, 0)
        table.add_row(f"fraud: {pattern} (incidents: {incidents})", f"{n:,}")
    for kind, n in summary.labels.items():
        table.add_row(f"label: {kind}", f"{n:,}")
    table.add_row(
        "labels not known yet (arrive after the end)", f"{summary.labels_not_yet_known:,}"
    )
    console.print(table)
    console.print(
        f"generated in {seconds:.1f} s; files in {summary.out_dir}:", soft_wrap=True, markup=False
    )
    for path, what in (
        (summary.events_path, "events to import"),
        (summary.labels_path, "labels to import"),
        (summary.truth_path, "ground truth: which events are fraud (do not import)"),
        (summary.manifest_path, "seed, parameters and counts"),
    ):
        console.print(f"  {path.name:<15} {what}", soft_wrap=True, highlight=False)
    console.print("next:", soft_wrap=True)
    for kind, path in (("events", summary.events_path), ("labels", summary.labels_path)):
        command = f"  riskloop import {kind} {shlex.quote(str(path))}"
        console.print(command, soft_wrap=True, markup=False, highlight=False)


def simulate_command(
    out: Annotated[Path, typer.Argument(help="directory to write the files into")],
    customers: Annotated[int, typer.Option(help="genuine customers in the world")] = 2000,
    days: Annotated[int, typer.Option(help="days of traffic, ending at --end")] = 28,
    seed: Annotated[int, typer.Option(help="same seed and options: the same files")] = 7,
    end: Annotated[
        str | None,
        typer.Option(
            help=f"end of the simulated period, ISO 8601 (default {DEFAULT_END:%Y-%m-%d}, UTC)"
        ),
    ] = None,
    fraud_rate: Annotated[
        float, typer.Option(help="roughly the share of customers hit by fraud (0 to 0.25)")
    ] = 0.02,
) -> None:
    """Simulate a fintech's customers, their traffic, fraud and its outcomes, as NDJSON files
    for `riskloop import events` and `riskloop import labels`."""
    when = _end(end)
    if out.exists() and not out.is_dir():
        err.print(f"[red]✗[/red] OUT: {escape(str(out))} is not a directory")
        raise typer.Exit(2)
    started = time.perf_counter()
    try:
        with err.status(f"simulating {customers:,} customers over {days} days"):
            summary = simulate(
                out, customers=customers, days=days, seed=seed, end=when, fraud_rate=fraud_rate
            )
    except InvalidInput as exc:
        for e in exc.errors:
            err.print(f"[red]✗[/red] {_OPTION.get(e.field, e.field)}: {e.reason}")
        raise typer.Exit(2) from None
    except OSError as exc:
        err.print(f"[red]cannot write[/red] {escape(str(out))}: {escape(str(exc))}")
        raise typer.Exit(1) from None
    _print(summary, time.perf_counter() - started)
