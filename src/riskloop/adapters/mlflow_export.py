"""Export registered versions to MLflow, for teams that track models there.

One MLflow run per version (named ``fraud@3``) carries the test-window metrics, the
parameters and lineage, and the artifacts (model file, card, plots) under ``riskloop/``;
the MLflow registered model of the same name gets a version pointing at them, and the
aliases riskloop holds (champion, challenger) are set on it. riskloop stays the source of
truth: exporting twice makes a new run and MLflow version, nothing is read back.

Any tracking URI works: a database (``sqlite:///mlflow.db``, the local store MLflow
recommends), a server (``http://...``) or the legacy ``./mlruns`` file store, which MLflow
3 only opens with ``MLFLOW_ALLOW_FILE_STORE=true``.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from riskloop.errors import NotFound, StorageError
from riskloop.training.registry import ModelRegistry, ModelVersion

FILES = ("card.md", "card.html", "pr.png", "calibration.png", "importance.png")


def flat_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """The headline figures as MLflow metric names, e.g. ``test.recall_at_rate_0.01``."""
    out: dict[str, float] = {}
    for window in ("test", "train"):
        figures = metrics.get(window, {})
        for key in ("roc_auc", "average_precision", "fraud_rate"):
            if isinstance(figures.get(key), int | float):
                out[f"{window}.{key}"] = float(figures[key])
    test = metrics.get("test", {})
    for row in test.get("at_review_rates", []):
        out[f"test.precision_at_rate_{row['rate']}"] = float(row["precision"])
        out[f"test.recall_at_rate_{row['rate']}"] = float(row["recall"])
    for fpr, recall in test.get("recall_at_fpr", {}).items():
        out[f"test.recall_at_fpr_{fpr}"] = float(recall)
    for key, value in test.items():
        if key.startswith("card_precision_at_") and isinstance(value, int | float):
            out[f"test.{key}"] = float(value)
    if "calibration" in test:
        out["test.brier"] = float(test["calibration"]["brier"])
    baseline = metrics.get("baseline", {}).get("test", {})
    for key in ("roc_auc", "average_precision"):
        if isinstance(baseline.get(key), int | float):
            out[f"baseline.{key}"] = float(baseline[key])
    return out


def _params(version: ModelVersion) -> dict[str, str]:
    params = {f"param.{k}": str(v) for k, v in version.params.items()}
    for key, value in version.lineage.items():
        if key != "code":
            params[f"lineage.{key}"] = str(value)
    for key, value in version.lineage.get("code", {}).items():
        params[f"code.{key}"] = str(value)
    params["kind"] = version.kind
    params["event_type"] = version.event_type
    params["features"] = ",".join(version.features)
    return {k: v[:6000] for k, v in params.items()}  # MLflow's limit on a value


def export_version(
    registry: ModelRegistry,
    version: ModelVersion,
    tracking_uri: str,
    *,
    experiment: str = "riskloop",
) -> dict[str, Any]:
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    try:
        client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        found = client.get_experiment_by_name(experiment)
        experiment_id = found.experiment_id if found else client.create_experiment(experiment)
        tags = {"riskloop.model": version.ref, "riskloop.sha256": version.sha256}
        run = client.create_run(experiment_id, run_name=version.ref, tags=tags)
        run_id = run.info.run_id
        now = int(time.time() * 1000)
        client.log_batch(
            run_id,
            metrics=[Metric(k, v, now, 0) for k, v in flat_metrics(version.metrics).items()],
            params=[Param(k, v) for k, v in _params(version).items()],
            tags=[RunTag("riskloop.created_by", version.created_by)],
        )
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "riskloop"
            folder.mkdir()
            (folder / version.artifact).write_bytes(registry.artifact(version))
            for name in FILES:
                try:
                    (folder / name).write_bytes(registry.file(version, name))
                except NotFound:
                    continue
            client.log_artifacts(run_id, str(folder), artifact_path="riskloop")
        client.set_terminated(run_id)
        try:
            client.create_registered_model(version.name)
        except MlflowException as exc:
            if "already exists" not in str(exc).lower():
                raise
        mv = client.create_model_version(
            version.name,
            source=f"{run.info.artifact_uri}/riskloop",
            run_id=run_id,
            tags={"riskloop.model": version.ref},
            description=version.note or None,
        )
        aliases = [
            alias
            for (name, alias), number in registry.aliases().items()
            if name == version.name and number == version.version
        ]
        for alias in aliases:
            client.set_registered_model_alias(version.name, alias, mv.version)
    except MlflowException as exc:
        raise StorageError(f"MLflow export failed: {exc.message[:300]}") from exc
    return {"run_id": run_id, "mlflow_version": int(mv.version), "aliases": aliases}
