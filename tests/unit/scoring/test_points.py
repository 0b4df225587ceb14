"""The built-in points model scores any finite or infinite feature value without failing:
each term is capped on both sides, so one extreme value (an amount's z-score far below the
card's mean) cannot overflow the sigmoid and make the model unavailable."""

from __future__ import annotations

import math

import pytest

from riskloop.scoring.builtin import PointsScorer, Term, default_scorer


@pytest.mark.parametrize("x", [-1e9, -1e300, -math.inf, 1e300, math.inf])
def test_an_extreme_value_gives_a_score_not_an_error(x: float) -> None:
    score = default_scorer().score({"card_amount_zscore_30d": x})
    assert 0.0 <= score.value <= 1.0


def test_a_term_counts_at_most_its_cap_either_way() -> None:
    model = PointsScorer("t", [Term("z", 2.0, scale=1, cap=1.5)], bias=0.0)
    low, high = model.score({"z": -1e6}).value, model.score({"z": 1e6}).value
    assert low == pytest.approx(1 / (1 + math.exp(3.0)))
    assert high == pytest.approx(1 / (1 + math.exp(-3.0)))
    assert model.score({"z": 0.5}).value == pytest.approx(1 / (1 + math.exp(-1.0)))
