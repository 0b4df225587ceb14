"""The LightGBM scorer: its score is the booster's, its path attributions add up to the raw
margin exactly, and its reasons name the features that drive the label."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from riskloop.adapters.lightgbm_scorer import LightGBMScorer
from riskloop.adapters.lightgbm_train import train_demo_booster
from riskloop.scoring import PointsScorer, default_scorer
from riskloop.scoring.builtin import Term

NAMES = [f"f{i}" for i in range(12)]


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rs = np.random.RandomState(1)
    x = rs.normal(size=(3000, len(NAMES)))
    y = ((2 * x[:, 0] + x[:, 3] + 0.3 * rs.normal(size=3000)) > 1.2).astype(int)
    return x, y


@pytest.fixture(scope="module")
def scorer(data: tuple[np.ndarray, np.ndarray]) -> LightGBMScorer:
    return LightGBMScorer(train_demo_booster(NAMES, *data, trees=60), name="demo")


def _features(row: np.ndarray) -> dict[str, float | None]:
    return {n: float(v) for n, v in zip(NAMES, row, strict=True)}


def test_score_is_the_boosters_probability(
    scorer: LightGBMScorer, data: tuple[np.ndarray, np.ndarray]
) -> None:
    x, _ = data
    for row in x[:20]:
        expected = scorer.booster.predict(row.reshape(1, -1))[0]
        assert scorer.score(_features(row)).value == pytest.approx(expected, abs=1e-9)


def test_attributions_add_up_to_the_raw_margin_with_missing_values(
    scorer: LightGBMScorer, data: tuple[np.ndarray, np.ndarray]
) -> None:
    x, _ = data
    rows = x[:10].copy()
    rows[::2, 0] = np.nan  # missing values take the trees' default branches
    for row in rows:
        feats = _features(row)
        if np.isnan(row[0]):
            feats["f0"] = None
        bias, contrib = scorer.contributions(scorer.row(feats))
        raw = scorer.booster.predict(row.reshape(1, -1), raw_score=True)[0]
        assert bias + contrib.sum() == pytest.approx(raw, abs=1e-6)


def test_reasons_name_the_driving_features(
    scorer: LightGBMScorer, data: tuple[np.ndarray, np.ndarray]
) -> None:
    x, y = data
    risky = x[(y == 1) & (x[:, 0] > 1.5)][:10]
    for row in risky:
        score = scorer.score(_features(row), top_k=3)
        assert 1 <= len(score.contributions) <= 3
        assert all(c.value > 0 for c in score.contributions)
        assert score.contributions[0].feature in {"f0", "f3"}
        assert score.contributions[0].reason == f"HIGH_{score.contributions[0].feature.upper()}"


def test_an_absent_feature_is_missing_not_an_error(scorer: LightGBMScorer) -> None:
    assert 0.0 <= scorer.score({"f0": 2.0, "unknown": "x"}).value <= 1.0


def test_file_round_trip_keeps_scores_and_version(
    scorer: LightGBMScorer, data: tuple[np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    path = tmp_path / "model.txt"
    scorer.booster.save_model(str(path))
    again = LightGBMScorer.from_file(path, name="demo")
    assert again.version == scorer.version
    row = _features(data[0][0])
    assert again.score(row).value == pytest.approx(scorer.score(row).value, abs=1e-12)


def test_version_names_the_model_content(data: tuple[np.ndarray, np.ndarray]) -> None:
    a = LightGBMScorer(train_demo_booster(NAMES, *data, trees=5), name="demo")
    b = LightGBMScorer(train_demo_booster(NAMES, *data, trees=6), name="demo")
    assert a.version.startswith("demo+")
    assert a.version != b.version


def test_points_scorer_is_logistic_over_capped_terms() -> None:
    s = PointsScorer("p@1", [Term("a", 2.0, scale=10, cap=1.0, reason="A_HIGH")], bias=-1.0)
    assert s.score({"a": 5}).value == pytest.approx(1 / (1 + np.exp(-(-1.0 + 1.0))))
    assert s.score({"a": 1000}).value == pytest.approx(1 / (1 + np.exp(-1.0)))  # capped
    assert s.score({"a": None}).value == pytest.approx(1 / (1 + np.exp(1.0)))
    assert [c.reason for c in s.score({"a": 5}).contributions] == ["A_HIGH"]
    assert default_scorer().version.startswith("points@1+")


def test_concurrent_scores_match_sequential_ones(
    scorer: LightGBMScorer, data: tuple[np.ndarray, np.ndarray]
) -> None:
    """The single-row fast path shares buffers: calls from threads must not mix rows."""
    from concurrent.futures import ThreadPoolExecutor

    rows = [_features(r) for r in data[0][:200]]
    expected = [scorer.score(r).value for r in rows]
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda r: scorer.score(r).value, rows * 5))
    assert got == expected * 5
