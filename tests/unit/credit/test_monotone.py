"""The monotone constraints hold: sweeping a directed column up (a larger number, or the
next level of its order) never moves the probability of default against its direction,
before or after calibration; without the constraints the same data breaks them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pytest

from riskloop.training.credit import CreditModel, monotonicity
from riskloop.training.credit_spec import GERMAN, Column

if TYPE_CHECKING:
    from tests.unit.credit.conftest import German


DIRECTED = [c for c in GERMAN.columns if c.monotone]
Predict = Callable[[Mapping[str, npt.ArrayLike]], npt.NDArray[np.float64]]


def _grid(column: Column, german: German) -> list[float] | list[str]:
    if column.kind == "ordinal":
        return list(column.order)
    seen = np.unique(german.table.numeric[column.name])
    return [float(seen.min() - 1), *seen.tolist(), float(seen.max() * 2 + 1)]


def _swept(predict: Predict, column: Column, german: German, rows: int = 120) -> np.ndarray:
    """PD of ``rows`` test applicants (rows) as ``column`` takes each grid value (columns),
    through the applicant-level API, raw text and all."""
    grid = _grid(column, german)
    cols = german.test.columns
    n = min(rows, len(german.test))
    batch = {k: np.repeat(np.asarray(v)[:n], len(grid)) for k, v in cols.items()}
    batch[column.name] = np.tile(np.asarray(grid), n)
    return predict(batch).reshape(n, len(grid))


def _wrong_moves(pd: np.ndarray, direction: int) -> int:
    return int((-direction * np.diff(pd, axis=1) > 1e-12).any(axis=1).sum())


@pytest.mark.parametrize("column", DIRECTED, ids=[c.name for c in DIRECTED])
def test_sweeping_a_directed_column_never_moves_the_pd_against_its_direction(
    column: Column, german: German, monotone_model: CreditModel
) -> None:
    raw = _swept(monotone_model.raw_pd, column, german)
    calibrated = _swept(monotone_model.predict_pd, column, german)
    assert _wrong_moves(raw, column.monotone) == 0
    assert _wrong_moves(calibrated, column.monotone) == 0
    assert np.allclose(calibrated, monotone_model.calibration(raw))


def test_the_same_data_without_constraints_breaks_the_directions(
    german: German, free_model: CreditModel
) -> None:
    broken = {
        c.name: _wrong_moves(_swept(free_model.raw_pd, c, german), c.monotone) for c in DIRECTED
    }
    # German credit's "critical account" has the lowest bad rate of all histories.
    assert broken["credit_history"] > 0
    assert sum(v > 0 for v in broken.values()) >= 3


def test_the_constraints_are_in_the_artifact_and_survive_a_reload(
    german: German, monotone_model: CreditModel
) -> None:
    enc = monotone_model.encoder
    expected = [GERMAN.monotone[source] for source in enc.sources]
    assert monotone_model.params["monotone_constraints"] == expected
    assert any(expected)
    assert "[monotone_constraints: " + ",".join(map(str, expected)) + "]" in (
        monotone_model.booster_text
    )
    again = CreditModel.from_json(monotone_model.to_json())
    assert again.params["monotone_constraints"] == expected
    np.testing.assert_array_equal(
        again.predict_pd(german.test.columns), monotone_model.predict_pd(german.test.columns)
    )


def test_the_monotonicity_report_separates_the_two_models(
    german: German, monotone_model: CreditModel, free_model: CreditModel
) -> None:
    ok = monotonicity(monotone_model, german.test.columns, rows=100)
    bad = monotonicity(free_model, german.test.columns, rows=100)  # the spec's directions
    assert set(ok) == {c.name for c in DIRECTED}
    assert all(r["raw_violations"] == r["calibrated_violations"] == 0 for r in ok.values())
    assert bad["credit_history"]["raw_violations"] > 0
    only = monotonicity(free_model, german.test.columns, rows=100, directions={"housing": 0})
    assert only == {}
