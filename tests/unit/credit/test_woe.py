"""Weight-of-evidence binning: monotone where declared, bins big enough, IV as by hand,
unknown values neutral, and bin definitions that survive JSON."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import orjson
import pytest

from riskloop.training.woe import FeatureBins, bin_categorical, bin_numeric, bin_ordinal, woe_iv

if TYPE_CHECKING:
    from tests.unit.credit.conftest import German


def _wiggly(direction: int, n: int = 4000, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """A bad rate that rises (or falls) with x overall but wiggles on the way."""
    rs = np.random.RandomState(seed)
    x = rs.uniform(0, 10, n)
    logit = direction * (0.4 * x - 2) + 0.8 * np.sin(3 * x)
    return x, (rs.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)


@pytest.mark.parametrize("direction", [1, -1])
def test_a_monotone_feature_gets_monotone_woe_and_a_free_one_need_not(direction: int) -> None:
    x, y = _wiggly(direction)
    fb = bin_numeric("x", x, y, monotone=direction, max_bins=20, min_share=0.02)
    woe = np.array([b.woe for b in fb.bins])
    assert len(woe) >= 3
    assert np.all(direction * np.diff(woe) >= 0)
    free = np.array([b.woe for b in bin_numeric("x", x, y, max_bins=20, min_share=0.02).bins])
    assert np.any(direction * np.diff(free) < 0)  # the wiggles are real: merging did work


def test_german_duration_and_amount_bins_are_monotone_and_big_enough(german: German) -> None:
    y = german.train.target
    for name in ("duration_in_month", "credit_amount"):
        fb = bin_numeric(name, german.train.numeric[name], y, monotone=1, min_share=0.05)
        assert np.all(np.diff([b.woe for b in fb.bins]) >= 0)
        assert min(b.good + b.bad for b in fb.bins) >= 0.05 * len(y)
        assert sum(b.good + b.bad for b in fb.bins) == len(y)


def test_information_value_matches_a_hand_computation() -> None:
    # bin a: 3 good, 1 bad; bin b: 1 good, 3 bad. Smoothing 0.5 on both counts of both bins:
    # bad shares 1.5/5 and 3.5/5, good shares 3.5/5 and 1.5/5, so IV = 2 * 0.4 * ln(7/3).
    fb = bin_categorical("c", ["a"] * 4 + ["b"] * 4, [0, 0, 0, 1, 1, 1, 1, 0], min_share=0)
    assert [b.label for b in fb.bins] == ["a", "b"]
    assert fb.bins[0].woe == pytest.approx(math.log(0.3 / 0.7))
    assert fb.bins[1].woe == pytest.approx(math.log(0.7 / 0.3))
    assert fb.iv == pytest.approx(0.8 * math.log(7 / 3))
    woe, iv = woe_iv([3, 1], [1, 3], smoothing=0)  # plain: shares 1/4 and 3/4
    assert woe == pytest.approx([math.log(1 / 3), math.log(3)])
    assert sum(iv) == pytest.approx(math.log(3))
    with pytest.raises(ValueError, match="smoothing"):
        woe_iv([3, 0], [1, 3], smoothing=0)


def test_an_empty_class_gets_a_finite_woe() -> None:
    fb = bin_categorical("c", ["a"] * 5 + ["b"] * 5, [0] * 5 + [1] * 5, min_share=0)
    assert all(math.isfinite(b.woe) for b in fb.bins)
    assert fb.bins[0].woe == pytest.approx(math.log((0.5 / 6) / (5.5 / 6)))


def test_rare_categories_are_pooled_and_unseen_ones_have_no_evidence() -> None:
    x = ["a"] * 50 + ["b"] * 45 + ["c"] * 3 + ["d"] * 2
    y = [0] * 40 + [1] * 10 + [0] * 25 + [1] * 20 + [1, 1, 0, 1, 0]
    fb = bin_categorical("c", x, y, min_share=0.06)  # c + d: 5 rows, pooled, still too few
    assert sorted(b.categories for b in fb.bins) == [("a",), ("b", "c", "d")]
    assert bin_categorical("c", x, y, min_share=0.05).bins[-1].categories == ("c", "d")
    assert fb.index(["zz"]).tolist() == [-1]
    assert fb.woe(["zz", "a"])[0] == 0.0


def test_missing_values_get_their_own_bin_outside_the_order() -> None:
    x = np.array([1.0, 2, 3, 4, 5, 6, np.nan, np.nan])
    fb = bin_numeric("n", x, [0, 0, 1, 0, 1, 1, 1, 1], monotone=1, min_share=0)
    assert fb.bins[-1].missing and fb.bins[-1].label == "missing"
    assert fb.index([np.nan, 1.0]).tolist() == [len(fb.bins) - 1, 0]
    plain = bin_numeric("n", x[:6], [0, 0, 1, 0, 1, 1], min_share=0)
    assert plain.index([np.nan]).tolist() == [-1]


def test_ordinal_bins_hold_runs_of_the_order_and_the_outsiders_apart() -> None:
    order = ["low", "mid", "high"]
    x = ["low"] * 30 + ["mid"] * 30 + ["high"] * 30 + ["none"] * 10
    # bad rate falls along the order but "mid" is noisy: merged with "low" for monotone -1
    y = [1] * 12 + [0] * 18 + [1] * 14 + [0] * 16 + [1] * 3 + [0] * 27 + [1] * 2 + [0] * 8
    fb = bin_ordinal("o", x, y, order, monotone=-1, min_share=0.05)
    assert [b.categories for b in fb.bins] == [("low", "mid"), ("high",), ("none",)]
    ordered = [b.woe for b in fb.bins[:-1]]
    assert np.all(np.diff(ordered) <= 0)


def test_bin_definitions_survive_json(german: German) -> None:
    y = german.train.target
    for fb in (
        bin_numeric("duration_in_month", german.train.numeric["duration_in_month"], y, monotone=1),
        bin_categorical("purpose", german.train.categorical["purpose"], y),
    ):
        again = FeatureBins.from_dict(orjson.loads(orjson.dumps(fb.to_dict())))
        assert again == fb
        column = german.test.columns[fb.feature]
        np.testing.assert_array_equal(again.woe(column), fb.woe(column))
