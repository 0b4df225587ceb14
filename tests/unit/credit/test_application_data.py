"""Credit data in the application vocabulary: every German category has its code, the
mapped table keeps rows, target and protected segments, the spec matches GERMAN's kinds and
directions, and a lender's CSV is read with every problem named FILE:LINE:column."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from riskloop.credit.inputs import MODEL_INPUTS
from riskloop.errors import InvalidDefinition, InvalidInput
from riskloop.training.credit_data import PROTECTED, PROTECTED_SOURCES, CreditTable
from riskloop.training.credit_german import (
    APPLICATION,
    CATEGORY_MAPS,
    NUMERIC_NAMES,
    as_applications,
    load_credit_csv,
)
from riskloop.training.credit_spec import GERMAN, Column, CreditSpec

if TYPE_CHECKING:
    from tests.unit.credit.conftest import Applications, German

# German column -> application input, numeric and categorical alike.
RENAMED = {**NUMERIC_NAMES, **{g: name for g, (name, _) in CATEGORY_MAPS.items()}}


def test_every_german_category_has_a_code_of_the_vocabulary(german: German) -> None:
    for source, (name, codes) in CATEGORY_MAPS.items():
        assert set(german.table.categorical[source].tolist()) == set(codes), source
        assert set(codes.values()) <= set(MODEL_INPUTS[name]), name
        assert len(set(codes.values())) == len(codes), f"{source}: two texts share a code"


def test_the_application_spec_is_german_in_the_application_vocabulary() -> None:
    assert APPLICATION.names == tuple(MODEL_INPUTS)
    assert set(RENAMED) == set(GERMAN.names)
    app = {c.name: c for c in APPLICATION.columns}
    for g in GERMAN.columns:
        a = app[RENAMED[g.name]]
        assert (a.kind, a.monotone) == (g.kind, g.monotone), a.name
        assert (a.kind == "numeric") == (MODEL_INPUTS[a.name] == "numeric"), a.name
        if g.kind == "ordinal":  # the same levels in the same order
            codes = CATEGORY_MAPS[g.name][1]
            assert tuple(codes[level] for level in g.order) == a.order, a.name
            assert set(a.order) <= set(MODEL_INPUTS[a.name]), a.name
    assert all(c.label and c.label != c.name for c in APPLICATION.columns)


def test_the_mapped_table_keeps_rows_target_protected_and_notes(
    german: German, applications: Applications
) -> None:
    before, after = german.table, applications.table
    assert len(after) == len(before) == 1000
    assert set(after.columns) == set(MODEL_INPUTS)
    assert not set(after.columns) & (PROTECTED_SOURCES | set(PROTECTED))
    np.testing.assert_array_equal(after.target, before.target)
    assert after.protected.keys() == before.protected.keys()
    for k in before.protected:
        np.testing.assert_array_equal(after.protected[k], before.protected[k])
    assert after.notes == before.notes and after.notes
    for source, name in NUMERIC_NAMES.items():
        np.testing.assert_array_equal(after.numeric[name], before.numeric[source])
    assert after.applicant(0)["checking_account"] == "negative"  # "... < 0 DM"
    assert before.categorical["status_of_existing_checking_account"][0] == "... < 0 DM"


def _with(table: CreditTable, column: str, row: int, value: str) -> CreditTable:
    changed = table.categorical[column].astype(object)
    changed[row] = value
    categorical = {**table.categorical, column: changed.astype(np.str_)}
    return dataclasses.replace(table, categorical=categorical)


def test_an_unknown_german_category_is_refused_naming_column_and_value(german: German) -> None:
    table = _with(german.table, "purpose", 5, "spaceship")
    with pytest.raises(InvalidInput, match="spaceship") as err:
        as_applications(table)
    assert err.value.field == "purpose"


def test_a_missing_or_unknown_german_column_is_named(german: German) -> None:
    t = german.table
    numeric = {k: v for k, v in t.numeric.items() if k != "duration_in_month"}
    categorical = {**t.categorical, "nationality": t.categorical["housing"]}
    with pytest.raises(InvalidInput) as err:
        as_applications(dataclasses.replace(t, numeric=numeric, categorical=categorical))
    assert {e.field for e in err.value.errors} == {"duration_in_month", "nationality"}


@pytest.mark.parametrize("name", sorted(PROTECTED_SOURCES | set(PROTECTED)))
def test_the_application_spec_refuses_a_protected_attribute(name: str) -> None:
    with pytest.raises(InvalidDefinition, match="protected"):
        CreditSpec((*APPLICATION.columns, Column(name, name, "nominal")))


# ---- a lender's CSV -------------------------------------------------------------------------

HEADER = [*MODEL_INPUTS, "bad", "age_band", "sex"]


def _rows(applications: Applications, n: int = 6) -> list[list[str]]:
    t = applications.table
    out = []
    for i in range(n):
        a = t.applicant(i)
        out.append(
            [f"{a[k]:g}" if isinstance(a[k], float) else str(a[k]) for k in MODEL_INPUTS]
            + [str(t.target[i]), str(t.protected["age_band"][i]), str(t.protected["sex"][i])]
        )
    return out


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_a_good_file_round_trips(tmp_path: Path, applications: Applications) -> None:
    path = _write(tmp_path / "book.csv", HEADER, _rows(applications))
    t, src = load_credit_csv(path), applications.table.take(range(6))
    assert len(t) == 6
    for k in MODEL_INPUTS:
        np.testing.assert_array_equal(t.columns[k], src.columns[k])
    assert set(t.numeric) == {k for k, v in MODEL_INPUTS.items() if v == "numeric"}
    np.testing.assert_array_equal(t.target, src.target)
    assert set(t.protected) == {"age_band", "sex"}
    assert t.protected["sex"].tolist() == src.protected["sex"].tolist()
    assert not set(t.columns) & set(PROTECTED)
    assert t.applicant(0) == src.applicant(0)


def test_every_problem_is_named_at_once(tmp_path: Path, applications: Applications) -> None:
    rows = _rows(applications)
    rows[0][HEADER.index("term_months")] = "twelve"
    rows[3][HEADER.index("bad")] = "yes"
    path = _write(tmp_path / "book.csv", HEADER, rows)
    with pytest.raises(InvalidInput) as err:
        load_credit_csv(path)
    assert [e.field for e in err.value.errors] == [f"{path}:2:term_months", f"{path}:5:bad"]


def _header_without(name: str) -> list[str]:
    return [h for h in HEADER if h != name]


@pytest.mark.parametrize(
    ("case", "where", "reason"),
    [
        ("missing column", "1:savings", "column missing"),
        ("unknown column", "1:age", "unknown column"),
        ("column twice", "1:sex", "given twice"),
        ("not a number", "3:term_months", "not a number: 'twelve'"),
        ("not finite", "3:loan_amount", "not a finite number"),
        ("undeclared category", "4:purpose", "category 'yacht' not one of car_new"),
        ("ordinal outside its levels", "2:credit_history", "category 'none'"),
        ("bad target", "6:bad", "expected 0 (repaid) or 1 (defaulted), got '2'"),
        ("short row", "3", "17 fields where the header has 20"),
        ("empty file", "1", "empty file"),
        ("header only", "2", "no applications"),
    ],
)
def test_a_bad_file_names_file_line_and_column(
    tmp_path: Path, applications: Applications, case: str, where: str, reason: str
) -> None:
    path = tmp_path / "book.csv"
    header, rows = list(HEADER), _rows(applications)
    if case == "missing column":
        header = _header_without("savings")
        rows = [r[: HEADER.index("savings")] + r[HEADER.index("savings") + 1 :] for r in rows]
    elif case == "unknown column":
        header.append("age")
        rows = [[*r, "41"] for r in rows]
    elif case == "column twice":
        header.append("sex")
        rows = [[*r, r[-1]] for r in rows]
    elif case == "not a number":
        rows[1][HEADER.index("term_months")] = "twelve"
    elif case == "not finite":
        rows[1][HEADER.index("loan_amount")] = "inf"
    elif case == "undeclared category":
        rows[2][HEADER.index("purpose")] = "yacht"
    elif case == "ordinal outside its levels":
        rows[0][HEADER.index("credit_history")] = "none"
    elif case == "bad target":
        rows[4][HEADER.index("bad")] = "2"
    elif case == "short row":
        rows[1] = rows[1][:17]
    if case == "empty file":
        path.write_text("")
    else:
        _write(path, header, [] if case == "header only" else rows)
    with pytest.raises(InvalidInput) as err:
        load_credit_csv(path)
    assert err.value.field == f"{path}:{where}"
    assert reason in err.value.reason
    assert f"{path}:{where}" in str(err.value)
