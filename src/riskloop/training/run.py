"""One training run: point-in-time set -> time split -> fit -> evaluate on the later window,
beside the logistic baseline, with everything needed to reproduce it (lineage)."""

from __future__ import annotations

import platform
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import metadata
from typing import Any

import numpy as np

from riskloop.domain.events import StoredEvent
from riskloop.errors import FieldError, InvalidInput
from riskloop.features import FeatureSet
from riskloop.training.dataset import TrainingSet, build_training_set
from riskloop.training.fit import FittedModel, Kind, fit
from riskloop.training.metrics import evaluate
from riskloop.training.registry import check_name
from riskloop.training.split import time_split

KINDS: tuple[Kind, ...] = ("lightgbm", "logistic")


@dataclass(frozen=True)
class TrainSpec:
    cutoff: datetime
    name: str = "fraud"
    event_type: str = "card_payment"
    kind: Kind = "lightgbm"
    maturity: timedelta = timedelta(days=30)
    test_days: float = 14.0
    gap_days: float = 7.0
    seed: int = 7
    params: Mapping[str, Any] = field(default_factory=dict)
    baseline: bool = True  # also fit the logistic baseline and report it

    def check(self, fs: FeatureSet) -> None:
        """Refuse a bad spec before minutes of replay, every problem named."""
        errors = []
        try:
            check_name(self.name)
        except InvalidInput as exc:
            errors.extend(exc.errors)
        if self.kind not in KINDS:
            errors.append(FieldError("kind", f"one of {', '.join(KINDS)}"))
        if not fs.names_for(self.event_type):
            errors.append(FieldError("event_type", "no features are computed for it"))
        if self.cutoff.tzinfo is None:
            errors.append(FieldError("cutoff", "must carry a timezone"))
        if self.maturity < timedelta(0):
            errors.append(FieldError("maturity", "must not be negative"))
        if errors:
            raise InvalidInput(errors)


@dataclass
class TrainResult:
    spec: TrainSpec
    model: FittedModel
    metrics: dict[str, Any]  # test (and train) figures, baseline beside them
    lineage: dict[str, Any]
    test_scores: np.ndarray
    test: TrainingSet
    baseline_scores: np.ndarray | None


def code_version() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in ("riskloop", "lightgbm", "scikit-learn", "numpy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "unknown"
    return versions


def train(log: Iterable[StoredEvent], fs: FeatureSet, spec: TrainSpec) -> TrainResult:
    spec.check(fs)
    data = build_training_set(
        log, fs, event_type=spec.event_type, cutoff=spec.cutoff, maturity=spec.maturity
    )
    split = time_split(data.occurred_ms, data.y, test_days=spec.test_days, gap_days=spec.gap_days)
    tr, te = data.subset(split.train), data.subset(split.test)
    model = fit(spec.kind, tr.x, tr.y, data.features, seed=spec.seed, params=spec.params)
    scores = model.predict(te.x)
    metrics: dict[str, Any] = {
        "test": evaluate(scores, te),
        "train": {
            "events": len(tr),
            "fraud": tr.positives,
            **{
                k: v
                for k, v in evaluate(model.predict(tr.x), tr).items()
                if k in ("roc_auc", "average_precision")
            },
        },
    }
    baseline_scores = None
    if spec.baseline and spec.kind != "logistic":
        base = fit("logistic", tr.x, tr.y, data.features, seed=spec.seed)
        baseline_scores = base.predict(te.x)
        metrics["baseline"] = {"kind": "logistic", "test": evaluate(baseline_scores, te)}
    lineage = {
        "data_snapshot": data.snapshot_hash(),
        "feature_set": data.feature_set,
        "event_type": spec.event_type,
        "cutoff": spec.cutoff.isoformat(),
        "maturity_days": spec.maturity.total_seconds() / 86400,
        "rows": len(data),
        "fraud": data.positives,
        "train_window": [_iso(int(tr.occurred_ms.min())), _iso(split.train_end_ms)],
        "gap_days": spec.gap_days,
        "test_window": [_iso(split.test_start_ms), _iso(split.test_end_ms)],
        "seed": spec.seed,
        "code": code_version(),
        **model.info,
    }
    return TrainResult(spec, model, metrics, lineage, scores, te, baseline_scores)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()
