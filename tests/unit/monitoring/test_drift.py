"""Drift rules: what must stay quiet, what must alert, and what is too little to judge."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from riskloop.monitoring.drift import (
    Column,
    DriftThresholds,
    Sample,
    category_psi,
    compare,
    compare_column,
)
from riskloop.monitoring.status import Status


def _sample(rows: list[dict[str, Any]], scores: Any = None) -> Sample:
    s = Sample()
    for i, row in enumerate(rows):
        s.add(row, None if scores is None else float(scores[i]))
    return s


def _column(values: Any) -> Column:
    c = Column()
    for v in values:
        c.add(v)
    return c


def _statuses(result: Any) -> dict[str, str]:
    return {f.feature: f.status.value for f in result.features}


def test_identical_distributions_are_ok() -> None:
    rs = np.random.default_rng(1)
    n = 5000

    def rows() -> list[dict[str, Any]]:
        amounts = rs.lognormal(8, 1, n)
        counts = rs.poisson(2, n)
        countries = rs.choice(["DE", "FR", "NL", "ES"], n, p=[0.4, 0.3, 0.2, 0.1])
        return [
            {"amount": float(a), "count": int(c), "country": str(k), "cnp": bool(c % 2)}
            for a, c, k in zip(amounts, counts, countries, strict=True)
        ]

    result = compare(_sample(rows(), rs.random(n)), _sample(rows(), rs.random(n)))
    assert _statuses(result) == {"amount": "ok", "cnp": "ok", "count": "ok", "country": "ok"}
    assert result.score.status is Status.OK and result.status is Status.OK
    amount = next(f for f in result.features if f.feature == "amount")
    assert amount.kind == "numeric" and amount.psi is not None and amount.psi < 0.02
    assert amount.ks_p_value is not None and amount.ks_p_value > 0.001
    country = next(f for f in result.features if f.feature == "country")
    assert country.kind == "categorical" and country.ks_statistic is None


def test_a_shifted_numeric_feature_alerts_on_psi_and_ks() -> None:
    rs = np.random.default_rng(2)
    ref = _sample([{"amount": float(a), "flat": 1} for a in rs.lognormal(8, 1, 3000)])
    cur = _sample([{"amount": float(a) * 5, "flat": 1} for a in rs.lognormal(8, 1, 3000)])
    result = compare(ref, cur)
    assert _statuses(result) == {"amount": "alert", "flat": "ok"}
    amount = result.features[0]
    assert amount.psi is not None and amount.psi >= 0.25
    assert amount.ks_statistic is not None and amount.ks_statistic > 0.5
    assert amount.mean_current is not None and amount.mean_reference is not None
    assert amount.mean_current > 4 * amount.mean_reference
    assert any("PSI" in r for r in amount.reasons) and any("KS" in r for r in amount.reasons)
    assert result.status is Status.ALERT


def test_a_moderate_shift_warns_on_psi_before_it_alerts() -> None:
    rs = np.random.default_rng(3)
    ref = _column(rs.normal(0, 1, 20_000))
    cur = _column(rs.normal(0.35, 1, 20_000))
    got = compare_column("x", ref, 20_000, cur, 20_000, DriftThresholds(ks_min_statistic=0.5))
    assert got.psi is not None and 0.1 <= got.psi < 0.25
    assert got.status is Status.WARN


def test_small_windows_are_insufficient_data_never_an_alert() -> None:
    ref = _sample([{"amount": 10.0, "country": "DE"}] * 99, [0.1] * 99)
    cur = _sample([{"amount": 10_000.0, "country": "BR"}] * 99, [0.9] * 99)
    result = compare(ref, cur)
    assert _statuses(result) == {"amount": "insufficient_data", "country": "insufficient_data"}
    assert result.score.status is Status.INSUFFICIENT_DATA
    assert result.status is Status.INSUFFICIENT_DATA and result.status.stored == "ok"
    # the floor is configurable: with 50 decisions enough, the same shift alerts
    assert compare(ref, cur, DriftThresholds(min_count=50)).status is Status.ALERT


def test_categorical_drift_with_a_new_country_alerts_and_names_it() -> None:
    rs = np.random.default_rng(4)
    before = rs.choice(["DE", "FR", "NL"], 4000, p=[0.5, 0.3, 0.2])
    after = rs.choice(["DE", "FR", "NL", "BR"], 4000, p=[0.35, 0.2, 0.15, 0.3])
    ref = _sample([{"country": str(c)} for c in before])
    cur = _sample([{"country": str(c)} for c in after])
    got = compare(ref, cur).features[0]
    assert got.kind == "categorical" and got.status is Status.ALERT
    assert got.new_categories == ("BR",)
    assert got.psi is not None and got.psi > 0.25


def test_rare_categories_share_the_other_bucket() -> None:
    common = {f"c{i}": 20 for i in range(20)}
    many = {**common, **{f"r{i}": 10 for i in range(30)}}
    # the 20 common ones kept; moving mass among the 30 rarer ones stays inside "other"
    shuffled = {**common, "r29": 300}
    assert category_psi(many, shuffled, max_categories=20) < 0.01
    assert category_psi(many, shuffled, max_categories=50) > 0.25


def test_ks_needs_a_minimum_effect_on_huge_windows() -> None:
    rs = np.random.default_rng(5)
    n = 200_000
    ref, cur = _column(rs.normal(0, 1, n)), _column(rs.normal(0.05, 1, n))
    got = compare_column("x", ref, n, cur, n)
    assert got.ks_p_value is not None and got.ks_p_value < 0.001  # significant...
    assert got.ks_statistic is not None and got.ks_statistic < 0.1  # ...but trivial
    assert got.status is Status.OK
    floorless = compare_column("x", ref, n, cur, n, DriftThresholds(ks_min_statistic=0.0))
    assert floorless.status is Status.ALERT and "KS" in floorless.reasons[0]


def test_ks_catches_a_shift_psi_cannot_bin() -> None:
    ref, cur = _column([0] * 500), _column([3] * 500)
    got = compare_column("declines", ref, 500, cur, 500)
    assert got.psi == 0.0  # a constant reference has no deciles to bin
    assert got.ks_statistic == 1.0 and got.status is Status.ALERT


def test_missing_rate_change_alerts_even_without_values_to_compare() -> None:
    ref = _sample([{"ratio": 1.5}] * 300)
    cur = _sample([{"ratio": None}] * 200 + [{}] * 100)  # None and absent are both missing
    got = compare(ref, cur).features[0]
    assert (got.missing_reference, got.missing_current) == (0.0, 1.0)
    assert got.status is Status.ALERT and got.reasons[0].startswith("missing rate moved")
    half = _sample([{"ratio": 1.5}] * 150 + [{"ratio": float("nan")}] * 150)
    moved = compare(ref, half).features[0]
    assert moved.missing_current == 0.5 and moved.status is Status.ALERT
    always = compare(cur, cur).features[0]
    assert always.status is Status.INSUFFICIENT_DATA  # never there: nothing to judge


def test_thresholds_are_checked() -> None:
    with pytest.raises(ValueError, match="psi_warn"):
        DriftThresholds(psi_warn=0.3, psi_alert=0.2)
    with pytest.raises(ValueError, match="min_count"):
        DriftThresholds(min_count=1)
    assert DriftThresholds().as_dict()["ks_min_statistic"] == 0.1


def test_psi_on_small_windows_must_beat_sampling_noise() -> None:
    # Two samples of 100 from one distribution: PSI on ten bins is often above 0.25.
    rs = np.random.default_rng(6)
    noisy = []
    for _ in range(300):
        ref, cur = _column(rs.normal(0, 1, 100)), _column(rs.normal(0, 1, 100))
        got = compare_column("x", ref, 100, cur, 100)
        if got.psi is not None and got.psi >= 0.25:
            noisy.append((ref, cur, got))
    assert len(noisy) > 30  # the case below is exercised
    assert all(got.status is Status.OK for _, _, got in noisy)
    ref, cur, _ = noisy[0]
    naive = DriftThresholds(p_value=1.0, ks_min_statistic=1.0)  # PSI alone decides
    got = compare_column("x", ref, 100, cur, 100, naive)
    assert got.status is Status.ALERT and got.reasons == (f"PSI {got.psi:.3f}",)


def test_a_noisy_missing_rate_does_not_warn_on_small_windows() -> None:
    ref = _sample([{"x": 1.0}] * 70 + [{}] * 30)
    cur = _sample([{"x": 1.0}] * 58 + [{}] * 42)  # 0.30 -> 0.42 missing: within noise
    got = compare(ref, cur, DriftThresholds(min_count=50)).features[0]
    assert got.status is Status.OK and (got.missing_reference, got.missing_current) == (0.3, 0.42)
    big = compare(
        _sample([{"x": 1.0}] * 7000 + [{}] * 3000), _sample([{"x": 1.0}] * 5800 + [{}] * 4200)
    )
    assert big.features[0].status is Status.WARN  # the same change on 10,000 decisions


def test_categorical_noise_on_small_windows_is_ok() -> None:
    rs = np.random.default_rng(8)
    letters = [chr(65 + i) for i in range(15)]
    for _ in range(50):
        ref = _sample([{"c": str(c)} for c in rs.choice(letters, 120)])
        cur = _sample([{"c": str(c)} for c in rs.choice(letters, 120)])
        got = compare(ref, cur).features[0]
        assert got.status is not Status.ALERT
        assert got.chi2_p_value is not None
