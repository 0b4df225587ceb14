"""TreeShap (the table-driven TreeSHAP) against LightGBM's own ``pred_contrib``: binary and
regression, shallow and deep trees, every missing type, repeated features on a path, a
random forest, single-leaf trees, and the models it must refuse."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from typing import Any

import lightgbm
import numpy as np
import pytest

from riskloop.scoring.treeshap import TreeShap

N_FEATURES = 6
BASE = {"verbose": -1, "num_threads": 1, "deterministic": True, "seed": 3, "min_data_in_leaf": 5}


def _data(*, gaps: bool = False, zeros: bool = False, n: int = 1500) -> tuple[np.ndarray, ...]:
    rs = np.random.RandomState(11)
    x = rs.normal(size=(n, N_FEATURES))
    if zeros:
        x[rs.rand(n, N_FEATURES) < 0.3] = 0.0
    margin = 1.5 * x[:, 0] - x[:, 1] + x[:, 2] * x[:, 3] + np.sin(2 * x[:, 4])
    y_bin = (margin + rs.logistic(size=n) > 0).astype(float)
    y_reg = margin + 0.3 * rs.normal(size=n)
    if gaps:
        x[rs.rand(n, N_FEATURES) < 0.1] = np.nan
    return x, y_bin, y_reg


def _train(x: np.ndarray, y: np.ndarray, rounds: int = 30, **params: Any) -> lightgbm.Booster:
    objective = params.pop("objective", "binary")
    ds = lightgbm.Dataset(x, label=y)
    return lightgbm.train({"objective": objective, **BASE, **params}, ds, num_boost_round=rounds)


def _nodes(tree: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        if "left_child" in node:
            stack += [node["left_child"], node["right_child"]]


def _splits(booster: lightgbm.Booster) -> list[Mapping[str, Any]]:
    dump = booster.dump_model()
    return [
        n for t in dump["tree_info"] for n in _nodes(t["tree_structure"]) if "split_feature" in n
    ]


def _rows(booster: lightgbm.Booster, x: np.ndarray) -> np.ndarray:
    """Plain rows, rows with NaNs, zeros (also -0.0, and 1e-40, which LightGBM reads as 0),
    and rows sitting exactly on split thresholds (the <= edge)."""
    rs = np.random.RandomState(5)
    rows = x[:24].copy()
    rows[:8][rs.rand(8, N_FEATURES) < 0.3] = np.nan
    rows[8:12, 1] = 0.0
    rows[8:12, 3] = -0.0
    rows[12:14, 2] = 1e-40
    rows[14:16] = np.nan
    for i, split in enumerate(_splits(booster)[:8]):
        rows[16 + i, split["split_feature"]] = split["threshold"]
    return rows


def _predict(booster: lightgbm.Booster, rows: np.ndarray, **kw: bool) -> np.ndarray:
    return np.asarray(booster.predict(rows, num_threads=1, **kw))


def _assert_matches(booster: lightgbm.Booster, rows: np.ndarray, **kw: Any) -> TreeShap:
    shap = TreeShap.from_dump(booster.dump_model(), **kw)
    expected = _predict(booster, rows, pred_contrib=True)
    got = np.array([shap.explain(r) for r in rows])
    assert got.shape == (rows.shape[0], shap.n_features)
    np.testing.assert_allclose(got, expected[:, :-1], rtol=0, atol=1e-6)
    np.testing.assert_allclose(expected[:, -1], shap.bias, rtol=0, atol=1e-6)
    raw = _predict(booster, rows, raw_score=True)
    np.testing.assert_allclose(shap.bias + got.sum(axis=1), raw, rtol=0, atol=1e-6)
    return shap


@pytest.mark.parametrize("depth", [3, 6])
def test_binary_matches_pred_contrib(depth: int) -> None:
    x, y, _ = _data()
    booster = _train(x, y, max_depth=depth, num_leaves=2**depth - 1)
    _assert_matches(booster, _rows(booster, x))


def test_regression_matches_pred_contrib() -> None:
    x, _, y = _data(gaps=True)
    booster = _train(x, y, objective="regression", max_depth=5, num_leaves=24)
    _assert_matches(booster, _rows(booster, x))


@pytest.mark.parametrize(
    ("missing", "data", "params"),
    [
        ("None", {}, {}),  # no NaN in training: NaN is read as 0.0
        ("NaN", {"gaps": True}, {}),
        ("Zero", {"zeros": True}, {"zero_as_missing": True}),
    ],
)
def test_every_missing_type(missing: str, data: dict[str, bool], params: dict[str, Any]) -> None:
    x, y, _ = _data(**data)
    booster = _train(x, y, max_depth=5, num_leaves=20, **params)
    assert missing in {s["missing_type"] for s in _splits(booster)}
    _assert_matches(booster, _rows(booster, x))


def test_a_feature_split_twice_on_one_path() -> None:
    rs = np.random.RandomState(2)
    x = rs.normal(size=(1500, N_FEATURES))
    y = ((np.abs(x[:, 0]) < 0.7) ^ (x[:, 1] > 0)).astype(float)  # x0 needs two cuts
    booster = _train(x, y, rounds=10, max_depth=4, num_leaves=15)

    def repeats(node: Mapping[str, Any], seen: tuple[int, ...]) -> bool:
        if "leaf_value" in node:
            return len(set(seen)) < len(seen)
        path = (*seen, node["split_feature"])
        return repeats(node["left_child"], path) or repeats(node["right_child"], path)

    assert any(repeats(t["tree_structure"], ()) for t in booster.dump_model()["tree_info"])
    _assert_matches(booster, _rows(booster, x))


def test_random_forest_averages_its_trees() -> None:
    """LightGBM averages a forest's trees for ``predict`` but not for ``pred_contrib`` (nor
    ``raw_score``): LightGBM issue #6217. Ours are averaged, so they add up to the margin
    the probability comes from."""
    x, y, _ = _data(gaps=True)
    booster = _train(
        x, y, boosting="rf", bagging_fraction=0.8, bagging_freq=1, max_depth=5, num_leaves=20
    )
    dump = booster.dump_model()
    assert dump["average_output"]
    n_trees = len(dump["tree_info"])
    rows = _rows(booster, x)
    shap = TreeShap.from_dump(dump)
    summed = _predict(booster, rows, pred_contrib=True) / n_trees
    got = np.array([shap.explain(r) for r in rows])
    np.testing.assert_allclose(got, summed[:, :-1], rtol=0, atol=1e-6)
    assert shap.bias == pytest.approx(summed[0, -1], abs=1e-6)
    probability = _predict(booster, rows)
    margin = shap.bias + got.sum(axis=1)
    np.testing.assert_allclose(1 / (1 + np.exp(-margin)), probability, rtol=0, atol=1e-9)


def test_deep_leaf_wise_trees_past_eight_splits() -> None:
    """Paths longer than 8 splits need more than one byte-word per table index."""
    x, y, _ = _data(gaps=True)
    booster = _train(x, y, rounds=5, num_leaves=48, min_data_in_leaf=3)
    longest = max(_depths(t["tree_structure"]) for t in booster.dump_model()["tree_info"])
    assert 8 < longest <= 14
    _assert_matches(booster, _rows(booster, x), max_path=14)


def _depths(node: Mapping[str, Any]) -> int:
    if "leaf_value" in node:
        return 0
    return 1 + max(_depths(node["left_child"]), _depths(node["right_child"]))


def test_values_within_kzerothreshold_are_read_as_zero() -> None:
    """LightGBM's predictor drops |x| <= 1e-35 as zeros before the trees see it: with a
    split moved to 1e-38, 1e-36 goes left (as 0.0 does) and 1e-30 goes right."""
    x, y, _ = _data()
    model = _train(x, y, rounds=1, num_leaves=2).model_to_string()
    booster = lightgbm.Booster(model_str=re.sub(r"\nthreshold=[^\n]*", "\nthreshold=1e-38", model))
    rows = np.zeros((4, N_FEATURES))
    feature = _splits(booster)[0]["split_feature"]
    rows[:, feature] = [1e-36, -1e-36, 1e-30, 0.0]
    _assert_matches(booster, rows)
    margin = _predict(booster, rows, raw_score=True)
    assert margin[0] == margin[1] == margin[3] != margin[2]


def test_a_single_leaf_tree_only_moves_the_bias() -> None:
    x, _, _ = _data()
    constant = _train(x, np.full(x.shape[0], 2.5), rounds=3, objective="regression")
    (tree,) = constant.dump_model()["tree_info"]
    assert "leaf_value" in tree["tree_structure"]
    shap = _assert_matches(constant, x[:4])
    assert shap.bias == pytest.approx(2.5)

    # A single leaf among real trees (LightGBM only keeps one as a first tree).
    x, y, _ = _data(gaps=True)
    booster = _train(x, y, rounds=10, max_depth=4, num_leaves=12)
    dump = booster.dump_model()
    padded = copy.deepcopy(dump)
    padded["tree_info"].append({"tree_structure": {"leaf_value": -0.75, "leaf_count": 1500}})
    plain, more = TreeShap.from_dump(dump), TreeShap.from_dump(padded)
    assert more.bias == pytest.approx(plain.bias - 0.75, abs=1e-12)
    for row in _rows(booster, x):
        np.testing.assert_array_equal(more.explain(row), plain.explain(row))


def test_the_bias_is_the_cover_weighted_leaf_mean_not_the_root_internal_value() -> None:
    """The dump's root internal_value is the root's own (hessian-weighted) output, rounded
    to 6 digits; LightGBM's bias, and ours, weight the leaves by their counts."""
    x, y, _ = _data()
    booster = _train(x, y, max_depth=4, num_leaves=12)
    dump = booster.dump_model()
    shap = TreeShap.from_dump(dump)
    roots = sum(t["tree_structure"]["internal_value"] for t in dump["tree_info"])
    expected = _predict(booster, x[:1], pred_contrib=True)[0, -1]
    assert shap.bias == pytest.approx(expected, abs=1e-9)
    assert abs(roots - expected) > 1e-4


def test_a_model_without_splits_explains_to_zeros() -> None:
    dump = {"max_feature_idx": 2, "tree_info": [{"tree_structure": {"leaf_value": 0.5}}]}
    shap = TreeShap.from_dump(dump)
    assert shap.bias == 0.5
    np.testing.assert_array_equal(shap.explain(np.array([1.0, np.nan, 0.0])), np.zeros(3))


def test_refuses_categorical_splits() -> None:
    x, y, _ = _data()
    x[:, 5] = np.random.RandomState(0).randint(0, 6, size=x.shape[0])
    y = (x[:, 5] % 2 == 0).astype(float)
    ds = lightgbm.Dataset(x, label=y, categorical_feature=[5])
    booster = lightgbm.train({"objective": "binary", **BASE, "num_leaves": 4}, ds, 3)
    with pytest.raises(ValueError, match="categorical"):
        TreeShap.from_dump(booster.dump_model())


def test_refuses_paths_longer_than_max_path() -> None:
    x, y, _ = _data()
    booster = _train(x, y, rounds=3, max_depth=6, num_leaves=40)
    with pytest.raises(ValueError, match="max_path=4"):
        TreeShap.from_dump(booster.dump_model(), max_path=4)
    TreeShap.from_dump(booster.dump_model(), max_path=6)


def test_refuses_linear_trees_and_multiclass() -> None:
    x, _, y_reg = _data()
    linear = _train(x, y_reg, rounds=2, objective="regression", linear_tree=True, num_leaves=4)
    with pytest.raises(ValueError, match="linear"):
        TreeShap.from_dump(linear.dump_model())
    three = _train(x, (x[:, 0] > 0) + (x[:, 1] > 0), rounds=2, objective="multiclass", num_class=3)
    with pytest.raises(ValueError, match="multiclass"):
        TreeShap.from_dump(three.dump_model())


def test_refuses_a_row_of_the_wrong_width() -> None:
    shap = TreeShap.from_dump({"max_feature_idx": 2, "tree_info": []})
    with pytest.raises(ValueError, match="3 features"):
        shap.explain(np.zeros(4))
