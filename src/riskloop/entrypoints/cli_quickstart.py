"""``riskloop quickstart``: see :mod:`riskloop.entrypoints.quickstart`."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from riskloop.entrypoints.cli_common import err, out
from riskloop.entrypoints.quickstart import Options, Report, Steps, run
from riskloop.errors import ConfigError, InvalidInput


class _Console(Steps):
    def __init__(self) -> None:
        self.started = 0

    def step(self, text: str) -> None:
        self.started += 1
        err.print(f"[bold cyan]{self.started}.[/bold cyan] {text}")

    def bar(self, total: int) -> Callable[[], None]:
        progress = Progress(
            TextColumn("   decisions"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
        )
        task = progress.add_task("live", total=total)
        progress.start()
        done = 0

        def tick() -> None:
            nonlocal done
            done += 1
            progress.advance(task)
            if done >= total:
                progress.stop()

        return tick


def quickstart_command(
    directory: Annotated[
        Path, typer.Option("--dir", help="where the store and the simulation go (re-run: reset)")
    ] = Path("riskloop-quickstart"),
    customers: Annotated[int, typer.Option(min=50, max=20_000)] = 1500,
    days: Annotated[int, typer.Option(min=14, max=120, help="days of simulated traffic")] = 42,
    live_days: Annotated[
        float, typer.Option(min=0.1, max=7, help="the last days, replayed as live traffic")
    ] = 2.0,
    live_limit: Annotated[int, typer.Option(min=1, max=100_000)] = 5000,
    seed: Annotated[int, typer.Option()] = 7,
    port: Annotated[int, typer.Option(min=0, max=65535, help="0: any free port")] = 8000,
    serve: Annotated[
        bool, typer.Option(help="keep serving after the summary, until Ctrl-C")
    ] = True,
) -> None:
    """The whole loop on this machine, embedded, in a few minutes: store, playbook, sanctions
    lists, simulated history, a trained and promoted model, the server, live traffic, a
    summary. Re-running starts over."""
    if live_days >= days - 14:
        err.print("[red]✗[/red] --live-days: leave at least 14 days of history before it")
        raise typer.Exit(2)
    opts = Options(
        dir=directory,
        customers=customers,
        days=days,
        live_days=live_days,
        live_limit=live_limit,
        seed=seed,
        port=port,
    )

    def keep(report: Report) -> None:
        print_summary(report, serving=True)
        err.print(f"serving on {report.facts['url']} (Ctrl-C to stop)")
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()

    try:
        report = run(opts, _Console(), serve=keep if serve else None)
    except ConfigError as exc:
        err.print(f"[red]✗[/red] {exc.variable}: {exc.reason}")
        raise typer.Exit(2) from None
    except InvalidInput as exc:
        err.print(f"[red]✗[/red] {exc}")
        raise typer.Exit(2) from None
    if not serve:
        print_summary(report, serving=False)


def print_summary(report: Report, *, serving: bool) -> None:
    f: dict[str, Any] = report.facts
    url = f["url"]
    live, model = f["live"], f["model"]
    table = Table("", "with the model", "rules alone", title="Live traffic: fraud caught")
    n = live["fraud_events"]
    table.add_row(
        f"fraud events ({n})",
        f"{live['caught_with_model']} caught",
        f"{live['caught_by_rules_alone']} caught",
    )
    table.add_row(
        "genuine events flagged",
        str(live["genuine_flagged_with_model"]),
        str(live["genuine_flagged_by_rules_alone"]),
    )
    out.print(table)
    patterns = ", ".join(
        f"{p} {v['caught']}/{v['caught'] + v['missed']}" for p, v in live["by_pattern"].items()
    )
    out.print(f"caught by pattern: {patterns}")
    out.print(
        f"decisions: {live['decisions']:,} ({live['recorded']:,} recorded), "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(live["outcomes"].items()))
    )
    out.print(
        f"latency: p50 {live['server_ms']['p50']} ms, p99 {live['server_ms']['p99']} ms "
        f"in the server; p50 {live['client_ms']['p50']} ms over HTTP"
    )
    out.print(
        f"model {model['ref']}: {model['rows']:,} payments, {model['fraud']} fraud labels known; "
        f"test ROC AUC {model['roc_auc']}, average precision {model['average_precision']}"
    )
    steps = ", ".join(f"{k} {v:.0f} s" for k, v in report.steps.items())
    out.print(f"time: {steps}")
    access = f["access"]
    when = (
        "(the server runs until Ctrl-C)"
        if serving
        else f"(stopped; RISKLOOP_DATA_DIR={f.get('store', '')} riskloop serve serves it again)"
    )
    out.print(
        f"where to look {when}:\n"
        f"  {url}/                the dashboard: log in as {access['username']} / "
        f"{access['password']} with a code from your authenticator app\n"
        f"                        (TOTP secret {access['totp_secret']}; all in {access['file']})\n"
        f"  {url}/queue           the review queue\n"
        f"  {url}/rules           rules, lists and policies, with backtests\n"
        f"  {url}/models          the model registry and model cards\n"
        f"  {url}/docs            the API; a local development key (every scope, 30 days):\n"
        f"  export RISKLOOP_KEY={access['api_key']}\n"
        f'  curl -H "Authorization: Bearer $RISKLOOP_KEY" "{url}/v1/decisions?outcome=decline"'
    )
