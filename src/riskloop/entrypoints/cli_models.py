"""``riskloop train``, ``riskloop score`` and ``riskloop models ...``: learn from outcomes,
score files, and manage the registry from the command line."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from riskloop.bootstrap import Riskloop, load_scorer
from riskloop.entrypoints.cli_catalog import Author, _default_author, _print_errors, refusals
from riskloop.entrypoints.cli_common import app_or_exit, err, out
from riskloop.errors import FieldError, InvalidInput
from riskloop.service.jobs import job_guard
from riskloop.training.registry import ModelVersion

models_app = typer.Typer(no_args_is_help=True, help="The model registry: list, promote, roll back.")

When = Annotated[
    datetime,
    typer.Option(
        formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"],
        help="labels known at this time (UTC if no zone)",
    ),
]
Ref = Annotated[str, typer.Argument(help="NAME@VERSION, or NAME:ALIAS (e.g. fraud:champion)")]
Reason = Annotated[str, typer.Option(help="why (kept in the alias history and the audit log)")]


def resolve(rl: Riskloop, ref: str) -> ModelVersion:
    registry = rl.models.registry
    if "@" in ref:
        name, _, number = ref.partition("@")
        if not number.isdigit():
            raise InvalidInput([FieldError("model", "NAME@VERSION with a version number")])
        return registry.version(name, int(number))
    name, _, alias = ref.partition(":")
    held = registry.aliases().get((name, alias or "champion"))
    if held is None:
        raise InvalidInput([FieldError("model", f"{name} has no {alias or 'champion'}")])
    return registry.version(name, held)


def _params(pairs: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise InvalidInput([FieldError("--param", f"{pair!r} is not KEY=VALUE")])
        try:
            params[key] = json.loads(raw)
        except ValueError:
            params[key] = raw
    return params


def train_command(
    cutoff: When,
    name: Annotated[str, typer.Option(help="the model's name in the registry")] = "fraud",
    event_type: Annotated[str, typer.Option(help="which events it scores")] = "card_payment",
    kind: Annotated[str, typer.Option(help="lightgbm or logistic")] = "lightgbm",
    maturity: Annotated[
        str, typer.Option(help="only events at least this old at the cut-off (labels take time)")
    ] = "30d",
    test_days: Annotated[float, typer.Option(help="the later window evaluated on")] = 14.0,
    gap_days: Annotated[float, typer.Option(help="left out between train and test")] = 7.0,
    seed: Annotated[int, typer.Option()] = 7,
    param: Annotated[
        list[str], typer.Option("--param", help="LightGBM KEY=VALUE, repeatable")
    ] = [],  # noqa: B006
    author: Author = "",
    note: Annotated[str, typer.Option(help="what this model is for")] = "",
    promote: Annotated[
        str | None, typer.Option(help="also set this alias (champion or challenger)")
    ] = None,
) -> None:
    """Train on the recorded events and labels (point in time), evaluate on a later window,
    register the model with its card. Nothing serves it until it is promoted."""
    from riskloop.features.definitions import parse_duration
    from riskloop.training.registry import ALIASES
    from riskloop.training.run import TrainSpec

    if promote is not None and promote not in ALIASES:
        err.print(f"[red]✗[/red] promote: one of {', '.join(ALIASES)}")
        raise typer.Exit(2)
    rl = app_or_exit()
    try:
        with refusals("refused"), job_guard(rl.tasks, "train"):
            spec = TrainSpec(
                cutoff=cutoff if cutoff.tzinfo else cutoff.replace(tzinfo=UTC),
                name=name,
                event_type=event_type,
                kind=kind,  # type: ignore[arg-type]  # checked by TrainSpec.check
                maturity=timedelta(seconds=parse_duration(maturity, "maturity")),
                test_days=test_days,
                gap_days=gap_days,
                seed=seed,
                params=_params(param),
            )
            who = author or _default_author()
            with Progress(
                TextColumn("replaying the event log"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=err,
                disable=not err.is_terminal,
            ) as bar:
                task = bar.add_task("replay", total=rl.events.count())
                version, result = rl.models.train(
                    spec, author=who, note=note, on_events=lambda n: bar.advance(task, n)
                )
            if promote:
                rl.models.promote(
                    name, version.version, alias=promote, author=who, reason=note or "trained"
                )
    finally:
        rl.close()
    test = result.metrics["test"]
    base = result.metrics.get("baseline", {}).get("test", {})
    one = next(r for r in test["at_review_rates"] if r["rate"] == 0.01)
    out.print(
        f"registered [bold]{version.ref}[/bold] ({version.kind}, {len(version.features)} "
        f"features, {result.lineage['rows']} rows, {result.lineage['fraud']} fraud)"
    )
    out.print(
        f"test window: ROC AUC {test['roc_auc']}, average precision {test['average_precision']}"
        f", recall at 1 % reviewed {one['recall']}"
        + (f"; logistic baseline AP {base.get('average_precision')}" if base else "")
    )
    out.print(f"model card: {rl.models.registry.artifacts.path(version.location)}/card.md")
    if promote:
        out.print(f"{version.ref} is now {promote}")


def score_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    model: Annotated[str, typer.Option(help="NAME@VERSION or NAME:ALIAS")],
    out_path: Annotated[Path, typer.Option("--out", help=".parquet or .csv")],
    history: Annotated[
        list[Path],
        typer.Option(help="events and labels replayed first, not scored (repeatable)"),
    ] = [],  # noqa: B006
) -> None:
    """Score a file of events with point-in-time features: the history files, then the file,
    are replayed in order through a fresh feature engine; live state is not touched."""
    from riskloop.adapters.files import detect_format, read_records
    from riskloop.service.batch_score import score_stream

    if out_path.suffix not in (".parquet", ".csv"):
        err.print("[red]error:[/red] --out must end in .parquet or .csv")
        raise typer.Exit(2)
    rl = app_or_exit()
    problems: list[FieldError] = []

    def events() -> Iterator[Any]:
        for path, wanted in [*((h, False) for h in history), (file, True)]:
            for record in read_records(path, detect_format(path)):
                if record.error:
                    problems.append(FieldError(f"{path.name}:{record.line}", record.error))
                    continue
                try:
                    yield rl.ingestor.protect_only(record.value, source="score"), wanted
                except InvalidInput as exc:
                    problems.extend(
                        FieldError(f"{path.name}:{record.line} {e.field}", e.reason)
                        for e in exc.errors
                    )

    try:
        with refusals("refused"):
            version = resolve(rl, model)
            scorer = load_scorer(version, rl.models.registry.artifact(version))
            rows = list(
                score_stream(events(), rl.features.engine.feature_set, scorer, version.event_type)
            )
    except (ValueError, OSError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    finally:
        rl.close()
    _write_scores(rows, out_path)
    if problems:
        _print_errors(problems[:20])
        err.print(f"{len(problems)} record(s) skipped")
    out.print(f"scored {len(rows)} {version.event_type} events with {version.ref} to {out_path}")


def _write_scores(rows: list[dict[str, Any]], path: Path) -> None:
    from riskloop.service.batch_score import score_columns

    tmp = path.with_name(f".{path.name}.tmp")
    if path.suffix == ".csv":
        with tmp.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=score_columns())
            writer.writeheader()
            for row in rows:
                writer.writerow({**row, "occurred_at": row["occurred_at"].isoformat()})
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns = {c: [r[c] for r in rows] for c in score_columns()}
        pq.write_table(pa.table(columns), tmp)
    tmp.replace(path)


@models_app.command("list")
def models_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every registered version, its aliases and test-window figures."""
    rl = app_or_exit()
    try:
        rows = rl.models.overview()
    finally:
        rl.close()
    if as_json:
        out.print_json(json.dumps(rows))
        return
    table = Table("model", "kind", "event type", "aliases", "ROC AUC", "avg precision", "created")
    for r in rows:
        table.add_row(
            r["ref"],
            r["kind"],
            r["event_type"],
            ", ".join(r["aliases"]),
            str(r["roc_auc"]),
            str(r["average_precision"]),
            f"{r['created_at'][:19]} by {r['created_by']}",
        )
    out.print(table)


@models_app.command("show")
def models_show(ref: Ref) -> None:
    """One version: metrics, lineage and parameters as JSON."""
    rl = app_or_exit()
    try:
        with refusals("refused"):
            version = resolve(rl, ref)
    finally:
        rl.close()
    out.print_json(json.dumps(version.as_dict()))


@models_app.command("card")
def models_card(ref: Ref, html: Annotated[bool, typer.Option("--html")] = False) -> None:
    """Print a version's model card (markdown, or the self-contained HTML page)."""
    rl = app_or_exit()
    try:
        with refusals("refused"):
            version = resolve(rl, ref)
            data = rl.models.card(version.name, version.version, "html" if html else "md")
    finally:
        rl.close()
    typer.echo(data.decode())


@models_app.command("promote")
def models_promote(
    ref: Annotated[str, typer.Argument(help="NAME@VERSION")],
    reason: Reason,
    alias: Annotated[str, typer.Option(help="champion or challenger")] = "champion",
    author: Author = "",
) -> None:
    """Point an alias at a version; servers pick it up within a second, without a restart."""
    rl = app_or_exit()
    try:
        with refusals("refused"):
            version = resolve(rl, ref)
            change = rl.models.promote(
                version.name,
                version.version,
                alias=alias,
                author=author or _default_author(),
                reason=reason,
            )
    finally:
        rl.close()
    was = f" (was {change.previous})" if change.previous is not None else ""
    out.print(f"{change.name}:{change.alias} -> version {change.version}{was}")


@models_app.command("rollback")
def models_rollback(
    name: Annotated[str, typer.Argument(help="model name")],
    reason: Reason,
    alias: Annotated[str, typer.Option(help="champion or challenger")] = "champion",
    author: Author = "",
) -> None:
    """Point the alias back at the version it held before its latest change."""
    rl = app_or_exit()
    try:
        with refusals("refused"):
            change = rl.models.rollback(
                name, alias=alias, author=author or _default_author(), reason=reason
            )
    finally:
        rl.close()
    out.print(f"{change.name}:{change.alias} -> version {change.version} (was {change.previous})")


@models_app.command("retire")
def models_retire(
    name: Annotated[str, typer.Argument(help="model name")],
    reason: Reason,
    alias: Annotated[str, typer.Option(help="champion or challenger")] = "challenger",
    author: Author = "",
) -> None:
    """Remove an alias (stop shadow-scoring a challenger, or fall back to the default)."""
    rl = app_or_exit()
    try:
        with refusals("refused"):
            change = rl.models.retire(
                name, alias, author=author or _default_author(), reason=reason
            )
    finally:
        rl.close()
    out.print(f"{change.name}:{change.alias} removed (was version {change.previous})")


@models_app.command("shadow")
def models_shadow(
    name: Annotated[str, typer.Argument(help="model name")],
    since: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"], help="UTC if no zone"),
    ] = None,
    review_rate: Annotated[float, typer.Option(min=0.0001, max=0.5)] = 0.01,
) -> None:
    """Champion against challenger on the recorded decisions both scored (JSON)."""
    from riskloop.service.models import recorded

    moment = since.replace(tzinfo=since.tzinfo or UTC) if since else None
    rl = app_or_exit()
    try:
        with refusals("refused"):
            labels = rl.features.labels_as_of(datetime.now(UTC))
            report = rl.models.shadow_report(
                name, recorded(rl.ledger, moment), labels, review_rate=review_rate
            )
    finally:
        rl.close()
    out.print_json(json.dumps(report))


@models_app.command("history")
def models_history(name: Annotated[str | None, typer.Argument()] = None) -> None:
    """Every alias change: when, who, from which version to which, and why."""
    rl = app_or_exit()
    try:
        changes = rl.models.registry.history(name)
    finally:
        rl.close()
    table = Table("when", "model", "alias", "from", "to", "who", "why")
    for c in changes:
        table.add_row(
            c.at.isoformat()[:19],
            c.name,
            c.alias,
            str(c.previous or "-"),
            str(c.version or "-"),
            c.actor,
            c.reason,
        )
    out.print(table)


@models_app.command("export-mlflow")
def models_export_mlflow(
    ref: Ref,
    tracking_uri: Annotated[
        str, typer.Option(help="e.g. sqlite:///mlflow.db, http://mlflow:5000 or file:./mlruns")
    ],
    experiment: Annotated[str, typer.Option()] = "riskloop",
) -> None:
    """Copy a version (metrics, parameters, lineage, artifacts, aliases) to MLflow."""
    import importlib.util

    from riskloop.adapters.mlflow_export import export_version

    if importlib.util.find_spec("mlflow") is None:
        err.print("[red]error:[/red] MLflow is not installed: pip install 'riskloop[mlflow]'")
        raise typer.Exit(2)
    rl = app_or_exit()
    try:
        with refusals("refused"):
            version = resolve(rl, ref)
            done = export_version(rl.models.registry, version, tracking_uri, experiment=experiment)
    finally:
        rl.close()
    aliases = f", aliases {', '.join(done['aliases'])}" if done["aliases"] else ""
    out.print(
        f"exported {version.ref} to MLflow run {done['run_id']}, "
        f"registered model {version.name} version {done['mlflow_version']}{aliases}"
    )
