"""Fairness checks: rates per protected segment as by hand, and protected attributes that
can never become model inputs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from riskloop.errors import InvalidDefinition
from riskloop.training.credit import CreditModel
from riskloop.training.credit_data import PROTECTED, PROTECTED_SOURCES
from riskloop.training.credit_spec import GERMAN, Column, CreditSpec
from riskloop.training.fairness import approval_cutoff, fairness_markdown, segment_rates
from riskloop.training.scorecard import Scorecard

if TYPE_CHECKING:
    from tests.unit.credit.conftest import German


def test_rates_per_segment_on_a_hand_made_example() -> None:
    #            a     a     a     a     b     b     b     b
    pd = [0.1, 0.2, 0.6, 0.7, 0.3, 0.8, 0.9, 0.4]
    bad = [0, 1, 0, 1, 0, 1, 1, 0]
    group = ["a", "a", "a", "a", "b", "b", "b", "b"]
    cut = approval_cutoff(pd, 0.5)  # the 4 lowest: 0.1 0.2 0.3 0.4
    assert cut == 0.4
    rows = {(r.attribute, r.segment): r for r in segment_rates(pd, bad, {"g": group}, cutoff=cut)}
    overall, a, b = rows["all", "all"], rows["g", "a"], rows["g", "b"]
    assert (overall.n, overall.approval_rate, overall.bad_rate) == (8, 0.5, 0.5)
    assert overall.false_positive_rate == 1 / 4  # goods: 0.1 0.6 0.3 0.4; declined 0.6
    assert overall.false_negative_rate == 1 / 4  # bads: 0.2 0.7 0.8 0.9; approved 0.2
    # a: approved 0.1 (good) 0.2 (bad); declined 0.6 (good) 0.7 (bad)
    assert (a.approval_rate, a.false_positive_rate, a.false_negative_rate, a.bad_rate) == (
        0.5,
        0.5,
        0.5,
        0.5,
    )
    # b: approved 0.3 (good) 0.4 (good); declined 0.8 0.9 (both bad)
    assert (b.approval_rate, b.false_positive_rate, b.false_negative_rate) == (0.5, 0.0, 0.0)
    assert b.gaps["false_positive_rate"] == pytest.approx(-0.25)
    assert a.gaps["false_negative_rate"] == pytest.approx(0.25)
    assert a.impact_ratio == b.impact_ratio == 1.0
    table = fairness_markdown(list(rows.values()))
    assert "| g | b | 4 | 50.0 % (+0.0) | 1.00 | 0.0 % (-25.0) |" in table


def test_a_segment_without_goods_has_no_false_positive_rate() -> None:
    rows = segment_rates([0.1, 0.9, 0.5], [1, 1, 0], {"g": ["x", "x", "y"]}, cutoff=0.5)
    x = next(r for r in rows if r.segment == "x")
    assert x.false_positive_rate is None and x.gaps["false_positive_rate"] is None
    y = next(r for r in rows if r.segment == "y")
    assert y.impact_ratio == 1.0 and x.impact_ratio == 0.5


def test_protected_attributes_are_not_model_inputs(
    german: German, monotone_model: CreditModel, scorecard: Scorecard
) -> None:
    protected = PROTECTED_SOURCES | set(PROTECTED)
    assert not protected & set(GERMAN.names)
    assert not protected & set(monotone_model.encoder.sources)
    assert not protected & set(scorecard.features)
    assert not protected & set(german.table.columns)
    assert set(german.table.protected) == set(PROTECTED)


@pytest.mark.parametrize("name", sorted(PROTECTED_SOURCES | set(PROTECTED)))
def test_a_spec_that_adds_a_protected_attribute_is_refused(name: str) -> None:
    with pytest.raises(InvalidDefinition, match="protected"):
        CreditSpec((*GERMAN.columns, Column(name, name, "nominal")))
