"""The ``riskloop`` command line (typer + rich)."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from riskloop import __version__
from riskloop.adapters.files import Format
from riskloop.bootstrap import Riskloop, build
from riskloop.config import Settings
from riskloop.entrypoints.logs import configure_logging
from riskloop.errors import ConfigError, InvalidEvent, RiskloopError
from riskloop.features import FeatureSet, load_feature_set
from riskloop.intake import CONTRACTS, json_schema
from riskloop.intake.mapping import ColumnMapping
from riskloop.service import BatchProgress

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
features_app = typer.Typer(no_args_is_help=True, help="Feature definitions, backfills, state.")
app.add_typer(import_app, name="import")
app.add_typer(contracts_app, name="contracts")
app.add_typer(keys_app, name="keys")
app.add_typer(db_app, name="db")
app.add_typer(dead_app, name="dead-letters")
app.add_typer(features_app, name="features")

err = Console(stderr=True)
out = Console()


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        err.print(f"[red]invalid setting[/red] {exc.variable}: {exc.reason}")
        raise typer.Exit(2) from None


def _app(*, migrate: bool | None = None, rebuild_features: bool = False) -> Riskloop:
    """The app for a command; only commands that read live features rebuild their state."""
    settings = _settings()
    configure_logging(settings.log_level, settings.log_format)
    try:
        return build(settings, migrate=migrate, rebuild_features=rebuild_features)
    except RiskloopError as exc:
        err.print(f"[red]cannot start:[/red] {exc}")
        raise typer.Exit(1) from None


@app.command()
def version() -> None:
    """Print the version."""
    out.print(__version__)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="default RISKLOOP_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="default RISKLOOP_PORT")] = None,
) -> None:
    """Serve the HTTP API (embedded mode by default: no other service needed)."""
    import uvicorn

    from riskloop.entrypoints.http import create_app

    rl = _app(rebuild_features=True)
    s = rl.settings
    err.print(
        f"riskloop {__version__} on http://{host or s.host}:{port or s.port} (data: {s.data_dir})"
    )
    try:
        uvicorn.run(
            create_app(rl),
            host=host or s.host,
            port=port or s.port,
            log_config=None,
            access_log=False,
        )
    finally:
        rl.close()


@import_app.command("events")
def import_events(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="ndjson, csv or parquet (default: from the suffix)"),
    ] = None,
    maps: Annotated[list[str], typer.Option("--map", help="COLUMN=field.path, repeatable")] = [],  # noqa: B006
    sets: Annotated[
        list[str], typer.Option("--set", help="field.path=VALUE for every record, repeatable")
    ] = [],  # noqa: B006
    batch_size: Annotated[
        int, typer.Option(min=1, max=100_000, help="records per transaction")
    ] = 1000,
    progress: Annotated[
        bool, typer.Option(help="show a progress bar (else one line per committed batch)")
    ] = True,
) -> None:
    """Import events from NDJSON, CSV or Parquet; print accepted / duplicate / rejected."""
    from riskloop.adapters.files import count_lines, detect_format, read_records

    try:
        mapping = ColumnMapping.parse(maps, sets)
        kind: Format = detect_format(file) if fmt is None else _format(fmt)
    except (InvalidEvent, ValueError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    # In-process feature state would die with this command: a server catches up from the log.
    rl = _app()
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

            summary = rl.ingestor.import_records(
                records,
                source=f"file:{file.name}",
                mapping=mapping,
                batch_size=batch_size,
                on_batch=on_batch,
            )
    except (RiskloopError, OSError, ValueError) as exc:
        # ValueError covers a file that is not what its suffix says (pyarrow's ArrowInvalid).
        err.print(
            f"[red]import stopped:[/red] {exc} (committed batches are kept; re-run to resume)"
        )
        raise typer.Exit(1) from None
    finally:
        rl.close()
    _print_summary(summary.as_dict())


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
    table = Table("event type", "version", "owner", "retention (days)", "description")
    for s in CONTRACTS.values():
        table.add_row(s.event_type, str(s.version), s.owner, str(s.retention_days), s.description)
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
    rl = _app()
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

    rl = _app()
    try:
        report = rotate_keys(rl.keyring, rl.sealed, batch=batch)
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

    rl = _app()
    try:
        retire_key(rl.keyring, rl.sealed, version)
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

    rl = _app(migrate=True)
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
    rl = _app()
    try:
        total = rl.dead_letters.count()
        letters = rl.dead_letters.list(limit=limit, offset=offset)
    finally:
        rl.close()
    table = Table("id", "received", "source", "reason", title=f"dead letters ({total} in all)")
    for d in letters:
        table.add_row(str(d.id), d.received_at.isoformat(timespec="seconds"), d.source, d.reason)
    out.print(table)


@features_app.command("list")
def features_list(
    file: Annotated[
        Path | None,
        typer.Option(
            "--file", help="a feature-set YAML (default: RISKLOOP_FEATURE_SET or the shipped set)"
        ),
    ] = None,
) -> None:
    """List the features of a feature set."""
    fs = _feature_set(file)
    table = Table("name", "kind", "entity", "window", "events", "description", title=fs.version_id)
    for f in fs.features:
        what = f.agg if f.kind == "aggregate" else f.op if f.kind == "derived" else f.kind
        window = _human(f.window_s) if f.window_s else ""
        table.add_row(
            f.name, str(what), f.entity or "", window, ",".join(f.outputs_for), f.description
        )
    out.print(table)


@features_app.command("validate")
def features_validate(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Check a feature-set YAML; exit 1 naming the first problem."""
    fs = _feature_set(file)
    out.print(f"ok: {fs.version_id}, {len(fs.features)} features")


@features_app.command("backfill")
def features_backfill(
    out_path: Annotated[Path, typer.Option("--out", help="Parquet file to write")] = Path(
        "features.parquet"
    ),
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="processes (the set is split by entity)")
    ] = min(os.cpu_count() or 1, 4),
) -> None:
    """Point-in-time features of every event in the log, in log order, to Parquet."""
    from riskloop.entrypoints.backfill import backfill

    settings = _settings()
    configure_logging(settings.log_level, settings.log_format)
    fs = _feature_set(settings.feature_set_path)
    # In-process state here too: a backfill never needs (or touches) a shared store.
    local = dataclasses.replace(settings, feature_store="memory")
    err.print(f"backfilling {fs.version_id} with {len(fs.partition(workers))} process(es)")
    try:
        stats = backfill(local, fs, out_path, workers=workers)
    except RiskloopError as exc:
        err.print(f"[red]backfill stopped:[/red] {exc}")
        raise typer.Exit(1) from None
    out.print(
        f"wrote {stats.events} vectors ({stats.labels} labels applied, {stats.late} late) "
        f"to {out_path} with {fs.version_id}"
    )


@features_app.command("training-set")
def features_training_set(
    vectors: Annotated[
        Path, typer.Option(exists=True, dir_okay=False, help="output of features backfill")
    ],
    cutoff: Annotated[
        datetime,
        typer.Option(
            formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"],
            help="labels known at this time (UTC if no zone)",
        ),
    ],
    maturity: Annotated[
        str, typer.Option(help="only events at least this old at the cut-off (labels take time)")
    ] = "30d",
    out_path: Annotated[Path, typer.Option("--out")] = Path("training.parquet"),
) -> None:
    """Join labels as known at the cut-off to backfilled vectors: no future leaks in."""
    from riskloop.adapters.parquet import write_training_set
    from riskloop.features.definitions import parse_duration

    try:
        maturity_s = parse_duration(maturity, "--maturity")
    except RiskloopError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    moment = cutoff if cutoff.tzinfo else cutoff.replace(tzinfo=UTC)
    rl = _app()
    try:
        labels = rl.features.labels_as_of(moment)
    finally:
        rl.close()
    n, positives = write_training_set(
        vectors, labels, moment - timedelta(seconds=maturity_s), out_path
    )
    out.print(
        f"wrote {n} rows ({positives} fraud) to {out_path}; labels as of {moment.isoformat()}"
    )


@features_app.command("rebuild")
def features_rebuild() -> None:
    """Rebuild the shared (Redis) feature state from the event log."""
    rl = _app()
    try:
        state = rl.features.engine.state
        reset = getattr(state, "reset", None)
        if reset is None:
            out.print("in-process state is rebuilt at every start; nothing to do")
            return
        reset()
        stats = rl.features.rebuild()
    finally:
        rl.close()
    out.print(f"rebuilt from {stats.events} events and {stats.labels} labels")


def _feature_set(path: Path | None) -> FeatureSet:
    try:
        return load_feature_set(path)
    except RiskloopError as exc:
        err.print(f"[red]invalid feature set:[/red] {exc}")
        raise typer.Exit(1) from None


def _human(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def main() -> None:
    app()
