"""``riskloop features``: definitions, backfills, training sets, shared state."""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from riskloop.entrypoints.cli_common import app_or_exit, err, out, settings_or_exit
from riskloop.entrypoints.logs import configure_logging
from riskloop.errors import RiskloopError
from riskloop.features import FeatureSet, load_feature_set

features_app = typer.Typer(no_args_is_help=True, help="Feature definitions, backfills, state.")


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

    settings = settings_or_exit()
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
    rl = app_or_exit()
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
    rl = app_or_exit()
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
