"""The credit model: LightGBM with monotone constraints, calibrated to a probability of
default, with adverse-action reasons from exact TreeSHAP.

Fitting (``fit_credit_model``):

1. The spec's columns are encoded (``credit_spec.Encoder``); each encoded column gets its
   column's declared direction as a LightGBM ``monotone_constraints`` entry.
2. The training rows are cut into ``folds`` stratified folds. ``lightgbm.cv`` on them
   picks the number of rounds (early stopping on the mean held-out log-loss: a single
   15 % tail of 700 rows, as ``fit_lightgbm`` would use, stops after a handful of trees on
   noise), and each row's prediction by the fold model that did not see it is kept.
3. ``training.fit.fit_lightgbm`` fits the final model on all training rows for that many
   rounds, with ``CREDIT_PARAMS``: shallow trees (a thousand applicants) and no up-weighting
   of defaults (30 % are bad, and the output should read as a PD).
4. Calibration is fitted on those out-of-fold predictions, so every training row is a
   held-out calibration row (one held-out fold of the German data would hold ~40
   defaults). Platt scaling by default (``riskloop.training.calibration`` says why),
   stored as a table.

Reasons (``CreditModel.reasons``): TreeSHAP contributions to the raw log-odds
(``riskloop.scoring.treeshap``, the values of LightGBM's ``pred_contrib``), summed over the
encoded columns of each original column (one-hot groups), then the at most four largest
positive ones, each read as "<column label>: <the applicant's value>". Calibration is
monotone, so it does not change which factors raised the risk.

The artifact is one JSON document holding LightGBM's text model: never a pickle.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import lightgbm
import numpy as np
import numpy.typing as npt
import orjson

from riskloop.scoring.port import top_reasons
from riskloop.scoring.reasons import MAX_REASONS
from riskloop.scoring.treeshap import TreeShap
from riskloop.training.calibration import Calibration, Method, fit_calibration
from riskloop.training.credit_spec import CreditSpec, Encoder, Reason, value_text
from riskloop.training.fit import fit_lightgbm
from riskloop.training.metrics import calibration as calibration_deciles

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

CREDIT_PARAMS: dict[str, Any] = {
    "learning_rate": 0.03,
    "num_leaves": 8,
    "max_depth": 3,
    "min_data_in_leaf": 20,
    "feature_fraction": 0.8,
    "lambda_l2": 1.0,
    "scale_pos_weight": 1.0,
    "num_boost_round": 1000,  # at most: the number is chosen by cross-validation
    "early_stopping_rounds": 50,
}
# A thousand rows gain nothing from threads, and OpenMP threads stall on a busy machine.
THREADS = 1


@dataclass
class CreditModel:
    encoder: Encoder
    booster_text: str
    calibration: Calibration
    params: dict[str, Any]
    info: dict[str, Any] = field(default_factory=dict)
    _booster: lightgbm.Booster | None = field(default=None, init=False, repr=False, compare=False)
    _shap: TreeShap | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def features(self) -> list[str]:
        """The encoded features LightGBM reads."""
        return list(self.encoder.features)

    @property
    def columns(self) -> tuple[str, ...]:
        """The original columns those come from."""
        return self.encoder.spec.names

    @property
    def booster(self) -> lightgbm.Booster:
        if self._booster is None:
            self._booster = lightgbm.Booster(model_str=self.booster_text)
        return self._booster

    def raw_pd_encoded(self, x: npt.ArrayLike) -> FloatArray:
        """LightGBM's own probability for encoded rows (before calibration)."""
        return np.asarray(
            self.booster.predict(np.asarray(x), num_threads=THREADS), dtype=np.float64
        )

    def raw_pd(self, columns: Mapping[str, npt.ArrayLike]) -> FloatArray:
        return self.raw_pd_encoded(self.encoder.encode(columns))

    def predict_pd(self, columns: Mapping[str, npt.ArrayLike]) -> FloatArray:
        return self.calibration(self.raw_pd(columns))

    def contributions(self, applicant: Mapping[str, float | str]) -> dict[str, float]:
        """Exact TreeSHAP in log-odds, summed per original column."""
        if self._shap is None:
            self._shap = TreeShap.from_dump(self.booster.dump_model())
        phi = self._shap.explain(self.encoder.encode_one(applicant))
        out = dict.fromkeys(self.columns, 0.0)
        for source, value in zip(self.encoder.sources, phi.tolist(), strict=True):
            out[source] += value
        return out

    def reasons(
        self, applicant: Mapping[str, float | str], top: int = MAX_REASONS
    ) -> tuple[Reason, ...]:
        labels = self.encoder.spec.labels
        return tuple(
            Reason(c.feature, f"{labels[c.feature]}: {value_text(applicant[c.feature])}", c.value)
            for c in top_reasons(self.contributions(applicant), min(top, MAX_REASONS))
        )

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "kind": "credit-lightgbm",
                "encoder": self.encoder.to_dict(),
                "calibration": self.calibration.to_dict(),
                "params": self.params,
                "info": self.info,
                "model": self.booster_text,
            }
        )

    @classmethod
    def from_json(cls, data: bytes) -> CreditModel:
        doc = orjson.loads(data)
        if doc.get("kind") != "credit-lightgbm":
            raise ValueError("not a credit-lightgbm artifact")
        return cls(
            Encoder.from_dict(doc["encoder"]),
            str(doc["model"]),
            Calibration.from_dict(doc["calibration"]),
            dict(doc["params"]),
            dict(doc["info"]),
        )


def fit_credit_model(
    spec: CreditSpec,
    columns: Mapping[str, npt.ArrayLike],
    y: npt.ArrayLike,
    *,
    seed: int = 7,
    params: Mapping[str, Any] | None = None,
    calibration: Method = "platt",
    folds: int = 5,
    monotone: bool = True,
) -> CreditModel:
    """``monotone=False`` fits without the constraints (to measure what they cost)."""
    from sklearn.model_selection import StratifiedKFold

    target = np.asarray(y, dtype=np.int64)
    encoder = Encoder.fit(spec, columns)
    x = encoder.encode(columns)
    constraints = encoder.constraints if monotone else [0] * len(encoder.features)
    chosen = {**CREDIT_PARAMS, **(params or {}), "monotone_constraints": constraints}
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    cuts = list(splitter.split(x, target))
    rounds, oof = _cross_fit(x, target, encoder.features, chosen, cuts, seed)
    final = fit_lightgbm(
        x,
        target,
        encoder.features,
        seed=seed,
        params={**chosen, "num_boost_round": rounds, "early_stopping_rounds": 0},
        threads=THREADS,
    )
    return CreditModel(
        encoder,
        final.artifact.decode(),
        fit_calibration(oof, target, method=calibration),
        final.params,
        {"trees": rounds, "rows": len(target), "defaults": int(target.sum()), "folds": folds},
    )


def _cross_fit(
    x: FloatArray,
    y: npt.NDArray[np.int64],
    features: list[str],
    params: Mapping[str, Any],
    cuts: list[tuple[IntArray, IntArray]],
    seed: int,
) -> tuple[int, FloatArray]:
    """The number of rounds (early stopping on the folds' mean log-loss) and each row's
    prediction by the fold model that did not see it."""
    chosen = dict(params)
    limit = int(chosen.pop("num_boost_round"))
    patience = int(chosen.pop("early_stopping_rounds"))
    fixed = {"seed": seed, "deterministic": True, "force_row_wise": True, "verbose": -1}
    result = lightgbm.cv(
        {
            **chosen,
            **fixed,
            "objective": "binary",
            "metric": "binary_logloss",
            "num_threads": THREADS,
        },
        lightgbm.Dataset(x, label=y, feature_name=features),
        num_boost_round=limit,
        folds=cuts,
        callbacks=[lightgbm.early_stopping(patience, verbose=False)] if patience else [],
        return_cvbooster=True,
    )
    cv: Any = result["cvbooster"]
    rounds = int(cv.best_iteration) if cv.best_iteration > 0 else limit
    oof = np.zeros(len(y))
    for booster, (_, held) in zip(cv.boosters, cuts, strict=True):
        oof[held] = booster.predict(x[held], num_iteration=rounds, num_threads=THREADS)
    return rounds, oof


def split_rows(
    y: npt.ArrayLike, *, test_share: float = 0.3, seed: int = 7
) -> tuple[IntArray, IntArray]:
    """A stratified, seeded train/test split: (train rows, test rows)."""
    from sklearn.model_selection import train_test_split

    target = np.asarray(y)
    train, test = train_test_split(
        np.arange(len(target)), test_size=test_share, stratify=target, random_state=seed
    )
    return np.asarray(train, dtype=np.intp), np.asarray(test, dtype=np.intp)


def evaluate_pd(pd: npt.ArrayLike, y: npt.ArrayLike) -> dict[str, Any]:
    """ROC AUC, Gini (2 AUC - 1), KS (the largest gap between the cumulative score
    distributions of bads and goods), Brier, and PD by decile against the observed rate."""
    from sklearn.metrics import roc_auc_score, roc_curve

    p, target = np.asarray(pd, dtype=np.float64), np.asarray(y, dtype=np.int64)
    auc = float(roc_auc_score(target, p))
    fpr, tpr, _ = roc_curve(target, p)
    cal = calibration_deciles(p, target)
    return {
        "n": len(target),
        "bad_rate": round(float(target.mean()), 6),
        "mean_pd": round(float(p.mean()), 6),
        "roc_auc": round(auc, 6),
        "gini": round(2 * auc - 1, 6),
        "ks": round(float(np.max(tpr - fpr)), 6),
        "brier": cal["brier"],
        "expected_calibration_error": cal["expected_calibration_error"],
        "deciles": [
            {"n": d["n"], "mean_pd": d["mean_score"], "observed_bad_rate": d["fraud_rate"]}
            for d in cal["deciles"]
        ],
    }


def monotonicity(
    model: CreditModel,
    columns: Mapping[str, npt.ArrayLike],
    *,
    rows: int = 200,
    seed: int = 7,
    directions: Mapping[str, int] | None = None,
) -> dict[str, dict[str, Any]]:
    """Sweep each directed column over its range for sampled applicants (all else fixed)
    and count the applicants whose PD moves against the direction, raw and calibrated.
    ``directions`` defaults to the spec's, also for a model fitted with ``monotone=False``:
    the check is against what the business requires, not what the model was told."""
    wanted = directions if directions is not None else model.encoder.spec.monotone
    x = model.encoder.encode(columns)
    rng = np.random.default_rng(seed)
    sample = x[rng.choice(len(x), size=min(rows, len(x)), replace=False)]
    out: dict[str, dict[str, Any]] = {}
    for column in model.encoder.spec.columns:
        direction = wanted.get(column.name, 0)
        if not direction:
            continue
        j = model.encoder.features.index(column.name)
        present = x[:, j][~np.isnan(x[:, j])]
        grid = np.unique(np.concatenate(([present.min() - 1], present, [present.max() * 2 + 1])))
        swept = np.repeat(sample, len(grid), axis=0)
        swept[:, j] = np.tile(grid, len(sample))
        raw = model.raw_pd_encoded(swept).reshape(len(sample), len(grid))
        out[column.name] = {"direction": direction, "grid": len(grid), "applicants": len(sample)}
        for name, pd in (("raw", raw), ("calibrated", model.calibration(raw))):
            against = -direction * np.diff(pd, axis=1)  # > 0: moved the wrong way
            out[column.name][f"{name}_violations"] = int((against > 1e-12).any(axis=1).sum())
            out[column.name][f"{name}_max_wrong_move"] = float(max(0.0, against.max()))
    return out
