"""The ``riskloop`` command line (typer + rich)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from riskloop import __version__
from riskloop.adapters.files import Format
from riskloop.bootstrap import Riskloop
from riskloop.entrypoints.cli_access import apikeys_app, audit_app, cli_actor, users_app
from riskloop.entrypoints.cli_cases import cases_app
from riskloop.entrypoints.cli_catalog import lists_app, policies_app, rules_app
from riskloop.entrypoints.cli_common import app_or_exit, err, out, settings_or_exit
from riskloop.entrypoints.cli_consume import consume_command
from riskloop.entrypoints.cli_credit import credit_app
from riskloop.entrypoints.cli_features import features_app
from riskloop.entrypoints.cli_jobs import jobs_app
from riskloop.entrypoints.cli_labels import labels_app
from riskloop.entrypoints.cli_models import models_app, score_command, train_command
from riskloop.entrypoints.cli_monitor import monitor_app
from riskloop.entrypoints.cli_quickstart import quickstart_command
from riskloop.entrypoints.cli_relay import relay_command
from riskloop.entrypoints.cli_release import backtest, canary_app, shadow
from riskloop.entrypoints.cli_retention import retention_app
from riskloop.entrypoints.cli_screening import kyc_app, screen, screening_app
from riskloop.entrypoints.cli_simulate import simulate_command
from riskloop.entrypoints.cli_tasks import tasks_app
from riskloop.errors import ConfigError, InvalidEvent, RiskloopError
from riskloop.intake import CONTRACTS, json_schema
from riskloop.intake.mapping import ColumnMapping
from riskloop.service import BatchProgress
from riskloop.service.ingest import RawRecord

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="riskloop: real-time risk decisioning for fintech.",
)
import_app = typer.Typer(no_args_is_help=True, help="Load records from files.")
contracts_app = typer.Typer(no_args_is_help=True, help="Event data contracts.")
keys_app = typer.Typer(no_args_is_help=True, help="Vault keys: rotate, list, retire.")
db_app = typer.Typer(no_args_is_help=True, help="The record database.")
dead_app = typer.Typer(no_args_is_help=True, help="Records rejected from files and streams.")
app.add_typer(import_app, name="import")
app.add_typer(canary_app, name="canary")
app.command("backtest")(backtest)
app.command("shadow")(shadow)
app.add_typer(contracts_app, name="contracts")
app.add_typer(keys_app, name="keys")
app.add_typer(db_app, name="db")
app.add_typer(dead_app, name="dead-letters")
app.add_typer(features_app, name="features")
app.add_typer(rules_app, name="rules")
app.add_typer(lists_app, name="lists")
app.add_typer(policies_app, name="policies")
app.add_typer(audit_app, name="audit")
app.add_typer(users_app, name="users")
app.add_typer(apikeys_app, name="apikeys")
app.add_typer(models_app, name="models")
app.add_typer(tasks_app, name="tasks")
app.add_typer(labels_app, name="labels")
app.add_typer(cases_app, name="cases")
app.add_typer(jobs_app, name="jobs")
app.add_typer(monitor_app, name="monitor")
app.add_typer(screening_app, name="screening")
app.add_typer(kyc_app, name="kyc")
app.add_typer(credit_app, name="credit")
app.add_typer(retention_app, name="retention")
app.command("simulate")(simulate_command)
app.command("quickstart")(quickstart_command)
app.command("consume")(consume_command)
app.command("relay")(relay_command)
app.command("screen")(screen)
app.command("train")(train_command)
app.command("score")(score_command)


@app.command()
def version() -> None:
    """Print the version."""
    out.print(__version__)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="default RISKLOOP_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="default RISKLOOP_PORT")] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1, max=64, help="server processes on one socket (needs PostgreSQL and Redis)"
        ),
    ] = 1,
) -> None:
    """Serve the HTTP API (embedded mode by default: no other service needed)."""
    import uvicorn

    from riskloop.entrypoints.http import create_app

    if workers > 1:
        _serve_workers(workers, host, port)
        return
    rl = app_or_exit(rebuild_features=True)
    s = rl.settings
    try:
        web = create_app(rl)
    except ConfigError as exc:  # e.g. RISKLOOP_SCHEDULE naming a job this process lacks
        rl.close()
        err.print(f"[red]invalid setting[/red] {exc.variable}: {exc.reason}")
        raise typer.Exit(2) from None
    err.print(
        f"riskloop {__version__} on http://{host or s.host}:{port or s.port} (data: {s.data_dir})"
    )
    try:
        uvicorn.run(
            web,
            host=host or s.host,
            port=port or s.port,
            log_config=None,
            access_log=False,
        )
    finally:
        rl.close()


def _serve_workers(workers: int, host: str | None, port: int | None) -> None:
    """N processes behind one socket (uvicorn's workers), each building its app from the
    environment. They must share the records and the feature state, so SQLite or
    in-process features are refused: each process would count features on its own."""
    import uvicorn

    settings = settings_or_exit()
    if settings.is_sqlite or settings.feature_store != "redis":
        err.print(
            "[red]✗[/red] --workers: several processes need RISKLOOP_DATABASE_URL=postgresql://"
            "... and RISKLOOP_FEATURE_STORE=redis (shared records and feature state)"
        )
        raise typer.Exit(2)
    rl = app_or_exit(migrate=True)  # migrations and the keyring once, before any worker
    rl.close()
    os.environ["RISKLOOP_AUTO_MIGRATE"] = "false"  # the workers inherit it
    err.print(
        f"riskloop {__version__}: {workers} workers on "
        f"http://{host or settings.host}:{port or settings.port}"
    )
    uvicorn.run(
        "riskloop.entrypoints.http.factory:create_from_env",
        factory=True,
        workers=workers,
        host=host or settings.host,
        port=port or settings.port,
        log_config=None,
        access_log=False,
    )


InFile = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)]
FormatOpt = Annotated[
    str | None,
    typer.Option("--format", help="ndjson, csv or parquet (default: from the suffix)"),
]
MapOpt = Annotated[list[str], typer.Option("--map", help="COLUMN=field.path, repeatable")]
SetOpt = Annotated[
    list[str], typer.Option("--set", help="field.path=VALUE for every record, repeatable")
]
ProgressOpt = Annotated[
    bool, typer.Option(help="show a progress bar (else one line per committed batch)")
]


@import_app.command("events")
def import_events(
    file: InFile,
    fmt: FormatOpt = None,
    maps: MapOpt = [],  # noqa: B006
    sets: SetOpt = [],  # noqa: B006
    batch_size: Annotated[
        int, typer.Option(min=1, max=100_000, help="records per transaction")
    ] = 1000,
    progress: ProgressOpt = True,
) -> None:
    """Import events from NDJSON, CSV or Parquet; print accepted / duplicate / rejected."""
    try:
        mapping = ColumnMapping.parse(maps, sets)
    except (InvalidEvent, ValueError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    _import_file(
        file,
        fmt,
        progress,
        lambda rl, records, on_batch: rl.ingestor.import_records(
            records,
            source=f"file:{file.name}",
            mapping=mapping,
            batch_size=batch_size,
            on_batch=on_batch,
        ).as_dict(),
    )


@import_app.command("labels")
def import_labels(
    file: InFile,
    fmt: FormatOpt = None,
    maps: MapOpt = [],  # noqa: B006
    sets: SetOpt = [],  # noqa: B006
    batch_size: Annotated[
        int, typer.Option(min=1, max=100_000, help="labels per transaction")
    ] = 1000,
    progress: ProgressOpt = True,
) -> None:
    """Import labels (chargebacks, disputes, analyst outcomes, customer reports,
    confirmations) as POST /v1/labels takes them; bad lines go to the dead letters, labels
    whose event is unknown are kept as pending (see `riskloop labels pending`). CSV columns
    are field paths (`match.card.pan`) or renamed with --map; --set fills a field for every
    row (e.g. --set kind=chargeback --set network=visa)."""
    try:
        mapping = ColumnMapping.parse(maps, sets)
    except InvalidEvent as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None

    def run(
        rl: Riskloop, records: Iterable[RawRecord], on_batch: Callable[[BatchProgress], None]
    ) -> dict[str, Any]:
        got = rl.labels.import_records(
            records,
            source=f"file:{file.name}",
            mapping=mapping,
            batch_size=batch_size,
            on_batch=on_batch,
        )
        return {**got.as_dict(), "pending": rl.labels.index.counts()["pending"]}

    summary = _import_file(file, fmt, progress, run)
    if summary["pending"]:
        err.print(f"{summary['pending']} labels pending: see `riskloop labels pending`")


def _import_file(
    file: Path,
    fmt: str | None,
    progress: bool,
    run: Callable[[Riskloop, Iterable[RawRecord], Callable[[BatchProgress], None]], dict[str, Any]],
) -> dict[str, Any]:
    from riskloop.adapters.files import count_lines, detect_format, read_records

    try:
        kind: Format = detect_format(file) if fmt is None else _format(fmt)
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    # In-process feature state would die with this command: a server catches up from the log.
    rl = app_or_exit()
    show_bar = progress and err.is_terminal
    try:
        total = count_lines(file, kind) if show_bar else None
        records = read_records(file, kind)
        with Progress(
            TextColumn("importing"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err,
            disable=not show_bar,
        ) as bar:
            task = bar.add_task("import", total=total)

            def on_batch(p: BatchProgress) -> None:
                s = p.summary
                if show_bar:
                    bar.update(task, completed=s.read)
                else:
                    # One line per committed batch: everything counted here is durable.
                    print(
                        f"committed batch {p.batch}: read={s.read} accepted={s.accepted} "
                        f"duplicate={s.duplicate} rejected={s.rejected}",
                        file=sys.stderr,
                        flush=True,
                    )

            summary = run(rl, records, on_batch)
    except (RiskloopError, OSError, ValueError) as exc:
        # ValueError covers a file that is not what its suffix says (pyarrow's ArrowInvalid).
        err.print(
            f"[red]import stopped:[/red] {exc} (committed batches are kept; re-run to resume)"
        )
        raise typer.Exit(1) from None
    finally:
        rl.close()
    _print_summary(summary)
    return summary


def _format(name: str) -> Format:
    formats: dict[str, Format] = {"ndjson": "ndjson", "csv": "csv", "parquet": "parquet"}
    if name not in formats:
        raise ValueError("--format must be ndjson, csv or parquet")
    return formats[name]


def _print_summary(summary: dict[str, object]) -> None:
    table = Table(title="import summary", show_header=False)
    for key in ("read", "accepted", "duplicate", "rejected"):
        table.add_row(key, str(summary[key]))
    out.print(table)
    reasons = summary["reasons"]
    if isinstance(reasons, dict) and reasons:
        rt = Table(title="rejected, by reason")
        rt.add_column("count", justify="right")
        rt.add_column("reason")
        for reason, count in list(reasons.items())[:20]:
            rt.add_row(str(count), reason)
        out.print(rt)
    out.print_json(json.dumps(summary))


@contracts_app.command("list")
def contracts_list() -> None:
    """List the event contracts with owner, version and retention."""
    table = Table("event type", "version", "owner", "retention (days)", "then", "description")
    for s in CONTRACTS.values():
        table.add_row(
            s.event_type,
            str(s.version),
            s.owner,
            str(s.retention_days),
            s.retention_action,
            s.description,
        )
    out.print(table)


@contracts_app.command("export")
def contracts_export(
    directory: Annotated[
        Path, typer.Argument(file_okay=False, help="where to write <type>.v<N>.schema.json")
    ] = Path("contracts"),
) -> None:
    """Export every contract as a JSON Schema file."""
    directory.mkdir(parents=True, exist_ok=True)
    for s in CONTRACTS.values():
        path = directory / f"{s.event_type}.v{s.version}.schema.json"
        path.write_text(json.dumps(json_schema(s), indent=2) + "\n", encoding="utf-8")
        out.print(f"wrote {path}")


@keys_app.command("list")
def keys_list() -> None:
    """Key versions in the keyring and how many data keys each still wraps."""
    rl = app_or_exit()
    try:
        counts = rl.sealed.count_by_key_version()
        active = rl.keyring.active_version
        table = Table("version", "active", "data keys wrapped")
        for v in sorted(rl.keyring.versions):
            table.add_row(str(v), "yes" if v == active else "", str(counts.get(v, 0)))
        out.print(table)
    finally:
        rl.close()


@keys_app.command("rotate")
def keys_rotate(
    batch: Annotated[int, typer.Option(min=1, max=100_000, help="rows re-wrapped per query")] = 500,
) -> None:
    """Add a new key-encryption key, use it for new records, re-wrap existing data keys."""
    from riskloop.vault import rotate_keys

    rl = app_or_exit()
    try:
        report = rotate_keys(rl.keyring, rl.sealed, batch=batch)
        detail = {"rewrapped": report.rewrapped}
        rl.audit.record(cli_actor(), "vault.rotate", "key", f"v{report.new_version}", detail)
    except RiskloopError as exc:
        err.print(f"[red]rotation stopped:[/red] {exc} (safe to re-run)")
        raise typer.Exit(1) from None
    finally:
        rl.close()
    out.print(f"active key version {report.new_version}; re-wrapped {report.rewrapped} data keys")
    out.print(f"data keys by version: {report.remaining_by_version}")


@keys_app.command("retire")
def keys_retire(version: int) -> None:
    """Remove an old key version once no data key needs it."""
    from riskloop.vault import retire_key

    rl = app_or_exit()
    try:
        retire_key(rl.keyring, rl.sealed, version)
        rl.audit.record(cli_actor(), "vault.retire", "key", f"v{version}", {})
    except RiskloopError as exc:
        err.print(f"[red]cannot retire:[/red] {exc}")
        raise typer.Exit(1) from None
    finally:
        rl.close()
    out.print(f"retired key version {version}")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations up to the newest."""
    from riskloop.adapters.sql import current_revision

    rl = app_or_exit(migrate=True)
    try:
        out.print(f"database at revision {current_revision(rl.engine)}")
    finally:
        rl.close()


@dead_app.command("list")
def dead_letters_list(
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
) -> None:
    """Show rejected records with their reasons (payloads stay sealed)."""
    rl = app_or_exit()
    try:
        total = rl.dead_letters.count()
        letters = rl.dead_letters.list(limit=limit, offset=offset)
    finally:
        rl.close()
    table = Table("id", "received", "source", "reason", title=f"dead letters ({total} in all)")
    for d in letters:
        table.add_row(str(d.id), d.received_at.isoformat(timespec="seconds"), d.source, d.reason)
    out.print(table)


def main() -> None:
    app()
