"""The WoE scorecard: its points add up to the score, the PDO scaling holds, and its
reasons are the (at most four) features that lost the most points against the average
applicant (Regulation B's "average of all applicants" method)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pytest

from riskloop.training.scorecard import Scaling, Scorecard
from riskloop.training.woe import Bin, FeatureBins

if TYPE_CHECKING:
    from tests.unit.credit.conftest import German


def test_the_points_of_each_feature_add_up_to_the_score(
    german: German, scorecard: Scorecard
) -> None:
    cols = german.test.columns
    parts = scorecard.points(cols)
    assert set(parts) == set(scorecard.features)
    np.testing.assert_allclose(scorecard.base_points + sum(parts.values()), scorecard.scores(cols))
    one = german.test.applicant(0)
    assert scorecard.score(one) == pytest.approx(scorecard.scores(cols)[0])


def test_the_score_is_the_logistic_regression_on_woe(german: German, scorecard: Scorecard) -> None:
    cols = german.test.columns
    z = scorecard.intercept + sum(
        scorecard.coef[f] * fb.woe(cols[f]) for f, fb in scorecard.bins.items()
    )
    np.testing.assert_allclose(scorecard.predict_pd(cols), 1 / (1 + np.exp(-z)))
    assert all(c > 0 for c in scorecard.coef.values())  # a risky bin never gains points


def test_600_points_at_odds_50_to_1_and_20_more_double_the_odds() -> None:
    s = Scaling()
    assert s.score(1 / 51) == pytest.approx(600)
    assert s.score(1 / 101) == pytest.approx(620)
    assert s.score(1 / 26) == pytest.approx(580)
    custom = Scaling(base_score=500, base_odds=20, pdo=40)
    assert custom.score(1 / 21) == pytest.approx(500)
    assert custom.score(1 / 41) == pytest.approx(540)


def test_a_score_difference_is_an_odds_ratio(german: German, scorecard: Scorecard) -> None:
    cols = german.test.columns
    scores, pd = scorecard.scores(cols), scorecard.predict_pd(cols)
    log_odds = np.log((1 - pd) / pd)
    np.testing.assert_allclose(np.diff(log_odds), np.diff(scores) * math.log(2) / 20)


def test_reasons_are_the_features_losing_most_points_against_the_average_applicant(
    german: German, scorecard: Scorecard
) -> None:
    table = scorecard.points_table()
    best = {
        f: sum(r["n"] * r["points"] for r in table if r["feature"] == f)
        / sum(r["n"] for r in table if r["feature"] == f)
        for f in scorecard.features
    }
    for i in range(40):
        applicant = german.test.applicant(i)
        mine = {
            f: float(p[0])
            for f, p in scorecard.points({k: [v] for k, v in applicant.items()}).items()
        }
        lost = {f: best[f] - mine[f] for f in scorecard.features}
        expected = sorted((f for f in lost if lost[f] > 0), key=lambda f: (-lost[f], f))[:4]
        reasons = scorecard.reasons(applicant)
        assert [r.feature for r in reasons] == expected
        assert [r.value for r in reasons] == pytest.approx([lost[f] for f in expected])
        assert reasons == scorecard.reasons(applicant)
        assert len(scorecard.reasons(applicant, top=9)) <= 4
        assert [r.feature for r in scorecard.reasons(applicant, top=2)] == expected[:2]


def test_a_reason_names_the_feature_and_the_applicants_bin(
    german: German, scorecard: Scorecard
) -> None:
    applicant = {**german.test.applicant(0), "duration_in_month": 48.0}
    applicant["status_of_existing_checking_account"] = "... < 0 DM"
    fb = scorecard.bins["duration_in_month"]
    texts = {r.feature: r.text for r in scorecard.reasons(applicant, top=4)}
    assert texts["duration_in_month"] == f"Duration in month: {fb.bins[-1].label}"
    assert fb.bins[-1].label.endswith("or more")
    assert texts["status_of_existing_checking_account"] == "Checking account balance: ... < 0 DM"


def _flag(name: str) -> FeatureBins:
    return FeatureBins(
        name,
        "categorical",
        (
            Bin("no", 60, 20, -0.5, 0.1, categories=("no",)),
            Bin("yes", 20, 20, 0.7, 0.1, categories=("yes",)),
        ),
    )


def test_ties_are_ordered_by_feature_name() -> None:
    card = Scorecard(
        [_flag("zeta"), _flag("alpha"), _flag("mid")], {"zeta": 1.0, "alpha": 1.0, "mid": 0.5}, -1.0
    )
    reasons = card.reasons({"zeta": "yes", "alpha": "yes", "mid": "yes"})
    assert [r.feature for r in reasons] == ["alpha", "zeta", "mid"]
    assert reasons[0].value == pytest.approx(reasons[1].value)
    assert card.reasons({"zeta": "no", "alpha": "no", "mid": "no"}) == ()


def test_the_artifact_is_json_and_scores_the_same(german: German, scorecard: Scorecard) -> None:
    data = scorecard.to_json()
    assert data.lstrip().startswith(b"{")
    again = Scorecard.from_json(data)
    cols = german.test.columns
    np.testing.assert_allclose(again.scores(cols), scorecard.scores(cols))
    assert again.reasons(german.test.applicant(3)) == scorecard.reasons(german.test.applicant(3))
    with pytest.raises(ValueError, match="not a scorecard"):
        Scorecard.from_json(b'{"kind": "other"}')
