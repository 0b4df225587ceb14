"""The LightGBM scorer at the edges: a production-sized model, the slow fallback path,
inputs that are not numbers, and model files it must refuse rather than mis-score.

The everyday behaviour (score is the booster's, attributions add up, reasons, file round
trip, version) is in ``tests/unit/scoring/test_lightgbm_scorer.py``."""

from __future__ import annotations

import lightgbm
import numpy as np
import pytest

from riskloop.adapters.lightgbm_scorer import LightGBMScorer
from riskloop.adapters.lightgbm_train import train_demo_booster
from riskloop.scoring.port import FeatureValue

NAMES = [f"f{i}" for i in range(10)]
BASE = {"verbose": -1, "num_threads": 1, "deterministic": True, "seed": 7, "num_leaves": 7}


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rs = np.random.RandomState(5)
    x = rs.normal(size=(3000, len(NAMES)))
    y = ((2 * x[:, 0] - x[:, 4] + x[:, 7] + 0.5 * rs.normal(size=3000)) > 1.0).astype(int)
    return x, y


@pytest.fixture(scope="module")
def big(data: tuple[np.ndarray, np.ndarray]) -> LightGBMScorer:
    """The decision benchmark's shape: 300 trees of 31 leaves."""
    return LightGBMScorer(train_demo_booster(NAMES, *data, trees=300, leaves=31), name="big")


def _features(row: np.ndarray) -> dict[str, float | None]:
    return {n: None if np.isnan(v) else float(v) for n, v in zip(NAMES, row, strict=True)}


def _with_gaps(x: np.ndarray) -> np.ndarray:
    rows = x[:12].copy()
    rows[::3, 0] = np.nan
    rows[1::3, [4, 7]] = np.nan
    return rows


def _train(data: tuple[np.ndarray, np.ndarray], rounds: int, **params: object) -> lightgbm.Booster:
    x, y = data
    label = params.pop("label", y)
    ds = lightgbm.Dataset(x, label=label, feature_name=NAMES)
    return lightgbm.train({"objective": "binary", **BASE, **params}, ds, num_boost_round=rounds)


def test_300_trees_add_up_to_the_raw_margin(
    big: LightGBMScorer, data: tuple[np.ndarray, np.ndarray]
) -> None:
    for row in _with_gaps(data[0]):
        bias, contrib = big.contributions(big.row(_features(row)))
        raw = big.booster.predict(row.reshape(1, -1), raw_score=True)[0]
        assert bias + float(contrib.sum()) == pytest.approx(raw, abs=1e-4)
        expected = big.booster.predict(row.reshape(1, -1))[0]
        assert big.score(_features(row), top_k=2).value == pytest.approx(expected, abs=1e-9)


def test_reasons_are_positive_at_most_top_k_and_name_the_drivers(
    big: LightGBMScorer, data: tuple[np.ndarray, np.ndarray]
) -> None:
    x, y = data
    for row in x[(y == 1) & (x[:, 0] > 1.0)][:10]:
        for k in (1, 2, 4):
            reasons = big.score(_features(row), top_k=k).contributions
            assert 1 <= len(reasons) <= k
            assert all(c.value > 0 for c in reasons)
            assert [c.value for c in reasons] == sorted((c.value for c in reasons), reverse=True)
        assert big.score(_features(row)).contributions[0].feature in {"f0", "f4", "f7"}


def test_the_fallback_path_scores_like_the_fast_one(
    data: tuple[np.ndarray, np.ndarray],
) -> None:
    fast = LightGBMScorer(train_demo_booster(NAMES, *data, trees=40, leaves=15), name="m")
    slow = LightGBMScorer(fast.booster, name="m")
    slow._fast = None  # what a LightGBM build without the single-row fast path gets
    for row in _with_gaps(data[0]):
        a, b = fast.score(_features(row)), slow.score(_features(row))
        assert b.value == pytest.approx(a.value, abs=1e-12)
        assert b.contributions == a.contributions


def test_absent_null_and_non_numeric_values_are_missing(
    big: LightGBMScorer, data: tuple[np.ndarray, np.ndarray]
) -> None:
    row = data[0][0].copy()
    feats: dict[str, FeatureValue] = dict(_features(row))
    feats["f0"] = "12.5"  # a string is not a number, even one that parses
    feats["f4"] = True  # nor is a bool
    feats["f7"] = None
    del feats["f9"]
    feats["not_a_model_feature"] = 3.0
    row[[0, 4, 7, 9]] = np.nan
    expected = big.booster.predict(row.reshape(1, -1))[0]
    assert big.score(feats).value == pytest.approx(expected, abs=1e-9)


def test_a_sigmoid_scaled_binary_model_scores_like_its_booster(
    data: tuple[np.ndarray, np.ndarray],
) -> None:
    booster = _train(data, 20, sigmoid=2.0)
    scorer = LightGBMScorer(booster, name="s2")
    for row in _with_gaps(data[0])[:4]:
        expected = booster.predict(row.reshape(1, -1))[0]
        assert scorer.score(_features(row)).value == pytest.approx(expected, abs=1e-9)


def test_a_random_forest_averages_its_trees(data: tuple[np.ndarray, np.ndarray]) -> None:
    """LightGBM's ``raw_score`` of a forest is its trees' sum, its probability the sigmoid
    of their mean: the attributions add up to the mean, the margin that is scored."""
    booster = _train(data, 20, boosting="rf", bagging_fraction=0.8, bagging_freq=1)
    scorer = LightGBMScorer(booster, name="rf")
    for row in _with_gaps(data[0])[:4]:
        bias, contrib = scorer.contributions(scorer.row(_features(row)))
        raw = booster.predict(row.reshape(1, -1), raw_score=True)[0]
        assert bias + float(contrib.sum()) == pytest.approx(raw / 20, abs=1e-6)
        expected = booster.predict(row.reshape(1, -1))[0]
        assert scorer.score(_features(row)).value == pytest.approx(expected, abs=1e-9)


def test_a_best_iteration_limits_every_path_to_the_same_trees(
    data: tuple[np.ndarray, np.ndarray],
) -> None:
    """A booster kept for training holds all its trees but predicts with the best ones; the
    native call must not be asked for more leaf indices than the scorer has room for."""
    x, y = data
    ds = lightgbm.Dataset(x, label=y, feature_name=NAMES)
    booster = lightgbm.train(
        {"objective": "binary", **BASE}, ds, num_boost_round=30, keep_training_booster=True
    )
    booster.best_iteration = 8
    scorer = LightGBMScorer(booster, name="es")
    for row in _with_gaps(x)[:4]:
        expected = booster.predict(row.reshape(1, -1))[0]
        assert scorer.score(_features(row)).value == pytest.approx(expected, abs=1e-9)
    if scorer._fast is not None:
        assert scorer._fast._len.value == 8


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"objective": "regression", "label": "x0"}, "binary"),
        ({"objective": "multiclass", "num_class": 3, "label": "3class"}, "binary"),
        ({"linear_tree": True}, "linear"),
    ],
)
def test_models_it_cannot_explain_are_refused(
    data: tuple[np.ndarray, np.ndarray], params: dict[str, object], match: str
) -> None:
    x, y = data
    labels = {"x0": x[:, 0], "3class": (x[:, 0] > 0).astype(int) + (x[:, 4] > 0)}
    params = {**params, "label": labels.get(str(params.get("label")), y)}
    booster = _train(data, 3, **params)
    with pytest.raises(ValueError, match=match):
        LightGBMScorer(booster, name="bad")


def test_contributions_are_exact_treeshap(
    big: LightGBMScorer, data: tuple[np.ndarray, np.ndarray]
) -> None:
    """The decision benchmark's model (300 trees, depth 6, as riskloop trains them)."""
    assert big.explanation == "treeshap"
    rows = _with_gaps(data[0])
    expected = big.booster.predict(rows, pred_contrib=True)
    for row, want in zip(rows, expected, strict=True):
        bias, contrib = big.contributions(big.row(_features(row)))
        assert contrib == pytest.approx(want[:-1], abs=1e-9)
        assert bias == pytest.approx(want[-1], abs=1e-9)


def test_trees_too_deep_for_the_tables_fall_back_to_path_attributions(
    data: tuple[np.ndarray, np.ndarray],
) -> None:
    deep = LightGBMScorer(
        _train(data, 3, num_leaves=400, max_depth=-1, min_data_in_leaf=1), name="deep"
    )
    assert deep.explanation == "path"
    for row in _with_gaps(data[0]):
        bias, contrib = deep.contributions(deep.row(_features(row)))
        raw = deep.booster.predict(row.reshape(1, -1), raw_score=True)[0]
        assert bias + float(contrib.sum()) == pytest.approx(raw, abs=1e-6)
