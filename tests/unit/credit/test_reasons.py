"""Adverse-action reasons of the LightGBM credit model: exact TreeSHAP summed per original
column, at most four, risk-increasing only, largest first, the same on every call."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest

from riskloop.training.credit import CreditModel
from riskloop.training.credit_spec import GERMAN, value_text

if TYPE_CHECKING:
    from tests.unit.credit.conftest import German


def test_column_contributions_are_lightgbms_own_shap_summed_per_column(
    german: German, monotone_model: CreditModel
) -> None:
    enc = monotone_model.encoder
    x = enc.encode(german.test.columns)[:25]
    lgb = np.asarray(monotone_model.booster.predict(x, pred_contrib=True))
    for i in range(len(x)):
        mine = monotone_model.contributions(german.test.applicant(i))
        for column in GERMAN.names:
            cols = [j for j, s in enumerate(enc.sources) if s == column]
            assert mine[column] == pytest.approx(lgb[i, cols].sum(), abs=1e-9)
        margin = np.log(monotone_model.raw_pd_encoded(x[i : i + 1])[0])
        margin -= np.log1p(-monotone_model.raw_pd_encoded(x[i : i + 1])[0])
        assert lgb[i, -1] + sum(mine.values()) == pytest.approx(margin, abs=1e-9)


def test_at_most_four_risk_increasing_reasons_largest_first(
    german: German, monotone_model: CreditModel
) -> None:
    labels = GERMAN.labels
    for i in range(60):
        applicant = german.test.applicant(i)
        contrib = monotone_model.contributions(applicant)
        reasons = monotone_model.reasons(applicant)
        expected = sorted((c for c in contrib if contrib[c] > 0), key=lambda c: (-contrib[c], c))
        assert [r.feature for r in reasons] == expected[:4]
        assert all(r.value > 0 for r in reasons)
        assert len({r.feature for r in reasons}) == len(reasons)
        assert all("__" not in r.feature for r in reasons)  # one-hot groups are one reason
        for r in reasons:
            assert r.text == f"{labels[r.feature]}: {value_text(applicant[r.feature])}"
        assert len(monotone_model.reasons(applicant, top=10)) <= 4


def test_reasons_are_deterministic_across_calls_and_reloads(
    german: German, monotone_model: CreditModel
) -> None:
    again = CreditModel.from_json(monotone_model.to_json())
    for i in range(10):
        applicant = german.test.applicant(i)
        first = monotone_model.reasons(applicant)
        assert monotone_model.reasons(applicant) == first
        assert again.reasons(applicant) == first


def test_a_decline_gets_specific_reasons(german: German, monotone_model: CreditModel) -> None:
    pd = monotone_model.predict_pd(german.test.columns)
    worst = int(np.argmax(pd))
    reasons = monotone_model.reasons(german.test.applicant(worst))
    assert 1 <= len(reasons) <= 4
    assert all(": " in r.text for r in reasons)
