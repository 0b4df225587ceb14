"""``riskloop jobs ...``: the scheduled jobs — what they are, when they last ran and how it
went, and running one now (what cron, Airflow or a Kubernetes CronJob calls). A run takes
the job's lease like the embedded scheduler does, so the two never overlap."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from riskloop.bootstrap import Riskloop
from riskloop.entrypoints.cli_catalog import refusals
from riskloop.entrypoints.cli_common import app_or_exit, err, out
from riskloop.entrypoints.jobs import owner_id, scheduler, unavailable
from riskloop.errors import ConfigError
from riskloop.service.job_runs import JobState
from riskloop.service.schedule import Scheduler, format_every

jobs_app = typer.Typer(
    no_args_is_help=True, help="Scheduled jobs: list them, or run one now (for cron)."
)

AsJson = Annotated[bool, typer.Option("--json", help="print JSON")]


def _scheduler(rl: Riskloop, role: str) -> Scheduler:
    try:
        return scheduler(rl, owner=owner_id(role))
    except ConfigError as exc:
        err.print(f"[red]invalid setting[/red] {exc.variable}: {escape(exc.reason)}")
        raise typer.Exit(2) from None


def _when(iso: str | None) -> str:
    return iso[:19].replace("T", " ") if iso else "-"


def _row(job_name: str, state: JobState | None, every: str | None, now: datetime) -> dict[str, Any]:
    seen = state.as_dict() if state is not None else JobState(job_name, now).as_dict()
    return {
        **seen,
        "every": every,
        "next_due_at": seen["next_due_at"] if every and state is not None else None,
        "running": state is not None and state.leased(now),
        "runs": state.runs if state is not None else 0,
    }


@jobs_app.command("list")
def jobs_list(as_json: AsJson = False) -> None:
    """Every job: its interval in RISKLOOP_SCHEDULE (or `off`), when it is next due, how its
    last run went, how often it ran, and the command that runs it."""
    rl = app_or_exit()
    try:
        sched = _scheduler(rl, "cli")
        with refusals("cannot read the job state"):
            states = {s.name: s for s in sched.runs.states()}
        now = sched.clock()
        missing = unavailable(rl)
    finally:
        rl.close()
    rows = [
        {
            **_row(
                job.name,
                states.get(job.name),
                format_every(job.every) if sched.is_scheduled(job.name) else None,
                now,
            ),
            "command": job.cli,
            "description": job.description,
        }
        for job in sched.jobs
    ]
    if as_json:
        out.print_json(json.dumps(rows))
        return
    table = Table("job", "every", "next due (UTC)", "last run (UTC)", "status", "runs", "command")
    for row in rows:
        status = row["last_status"] or "-"
        if row["running"]:
            status = f"running ({escape(row['lease_owner'] or '')})"
        elif status == "failed":
            status = f"[red]failed[/red]: {escape((row['last_error'] or '')[:80])}"
        table.add_row(
            row["name"],
            row["every"] or "off",
            _when(row["next_due_at"]),
            _when(row["last_started_at"]),
            status,
            str(row["runs"]),
            row["command"],
        )
    out.print(table)
    for name, why in sorted(missing.items()):
        err.print(f"not available: {name} ({why})", highlight=False)


@jobs_app.command("run")
def jobs_run(
    name: Annotated[str, typer.Argument(help="the job (see `riskloop jobs list`)")],
    as_json: AsJson = False,
) -> None:
    """Run one job now, whatever its schedule, and print its summary. Exits 1 if it fails
    (a job_failure task is raised) or is already running elsewhere."""
    rl = app_or_exit()
    try:
        sched = _scheduler(rl, "cli")
        if name not in sched.names:
            hint = unavailable(rl).get(name)
            err.print(
                f"[red]unknown job[/red] {escape(name)!r}"
                + (f" ({hint})" if hint else "")
                + f"; known jobs: {', '.join(sched.names)}"
            )
            raise typer.Exit(2)
        with refusals("refused"):
            result = sched.run_now(name)
    finally:
        rl.close()
    if as_json:
        out.print_json(json.dumps(result.as_dict(), default=str))
    elif result.ok:
        seconds = (result.finished_at - result.started_at).total_seconds()
        out.print(f"job {name} ok in {seconds:.2f}s", highlight=False)
        if result.summary is not None:
            out.print_json(json.dumps(dict(result.summary), default=str))
    if not result.ok:
        err.print(f"[red]job {escape(name)} failed:[/red] {escape(result.error or '')}")
        raise typer.Exit(1)
