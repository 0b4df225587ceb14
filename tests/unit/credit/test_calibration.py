"""Calibration to a probability of default: a non-decreasing table that serving applies
with numpy alone, and PDs whose mean on the held-out split is the observed bad rate."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest

from riskloop.training.calibration import Calibration, fit_calibration
from riskloop.training.credit import CreditModel, evaluate_pd

if TYPE_CHECKING:
    from tests.unit.credit.conftest import German


def test_calibrated_pds_average_to_the_observed_bad_rate(
    german: German, monotone_model: CreditModel
) -> None:
    pd = monotone_model.predict_pd(german.test.columns)
    assert abs(pd.mean() - german.test.target.mean()) < 0.03
    report = evaluate_pd(pd, german.test.target)
    assert report["expected_calibration_error"] < 0.08
    assert 0.7 < report["roc_auc"] < 0.9


def test_the_table_is_non_decreasing(monotone_model: CreditModel) -> None:
    table = monotone_model.calibration
    assert table.method == "platt"
    assert np.all(np.diff(table.x) > 0) and np.all(np.diff(table.y) >= 0)
    assert 0 < table.y[0] < table.y[-1] < 1


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_both_methods_recover_a_known_distortion(method: str) -> None:
    rs = np.random.RandomState(5)
    true = rs.uniform(0.02, 0.9, 6000)
    y = (rs.uniform(size=true.size) < true).astype(int)
    raw = true**0.5  # an over-confident model: ranks right, reads too high
    cal = fit_calibration(raw, y, method=method)  # type: ignore[arg-type]
    assert np.all(np.diff(cal.y) >= 0)
    grid = np.linspace(0.2, 0.9, 8)
    assert np.max(np.abs(cal(grid**0.5) - grid)) < 0.08
    assert Calibration.from_dict(cal.to_dict()) == cal


def test_a_decreasing_table_is_refused() -> None:
    with pytest.raises(ValueError, match="non-decreasing"):
        Calibration.from_dict({"method": "platt", "x": [0.1, 0.5], "y": [0.4, 0.2]})
    with pytest.raises(ValueError, match="rank"):
        fit_calibration([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1])
