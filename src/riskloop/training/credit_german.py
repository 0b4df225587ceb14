"""Credit training data in the application vocabulary: the inputs ``application_inputs``
(``riskloop.credit.inputs``) derives from a ``credit_application`` event, so a model trained
here reads at decision time exactly what it learnt from.

- ``APPLICATION``: the credit spec over ``MODEL_INPUTS``, in that order, with labels an
  applicant reads in a reason and the same kinds and declared directions as ``GERMAN``.
- ``as_applications``: the German credit table (``credit_data``) re-expressed in that
  vocabulary by explicit tables, German text to application code; a category no table
  holds is refused rather than guessed.
- ``load_credit_csv``: a lender's own book, already in the vocabulary. Protected
  attributes may come along for fairness monitoring, in their own columns; any other
  column is refused, so a protected attribute under another name is never taken in
  unnoticed.

>>> APPLICATION.names == tuple(MODEL_INPUTS)
True
>>> APPLICATION.monotone["term_months"], APPLICATION.labels["employment_length"]
(1, 'Time in current job')
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from riskloop.credit.inputs import CHECKING, CREDIT_HISTORY, EMPLOYMENT, MODEL_INPUTS, SAVINGS
from riskloop.errors import FieldError, InvalidInput
from riskloop.training.credit_data import PROTECTED, CreditTable, FloatArray, IntArray, StrArray
from riskloop.training.credit_spec import Column, CreditSpec

APPLICATION = CreditSpec(
    (
        Column("checking_account", "Checking account balance", "ordinal", -1, CHECKING),
        Column("term_months", "Loan term in months", "numeric", +1),
        Column("credit_history", "Credit history", "ordinal", +1, CREDIT_HISTORY),
        Column("purpose", "Loan purpose", "nominal"),
        Column("loan_amount", "Loan amount", "numeric"),
        Column("savings", "Savings", "ordinal", -1, SAVINGS),
        Column("employment_length", "Time in current job", "ordinal", -1, EMPLOYMENT),
        Column("installment_burden", "Repayment as a share of disposable income", "numeric", +1),
        Column("guarantor", "Other debtors or guarantors", "nominal"),
        Column("residence_length", "Time at current address", "numeric"),
        Column("property", "Property", "nominal"),
        Column("other_installment_plans", "Other instalment plans", "nominal"),
        Column("housing", "Housing", "nominal"),
        Column("existing_credits", "Existing credits", "numeric"),
        Column("job_level", "Job level", "nominal"),
        Column("dependents", "People the applicant maintains", "numeric"),
        Column("telephone", "Telephone", "nominal"),
    )
)

# German numeric column -> application input (the codes already agree: 1-4 bands, counts).
NUMERIC_NAMES = {
    "duration_in_month": "term_months",
    "credit_amount": "loan_amount",
    "installment_rate_in_percentage_of_disposable_income": "installment_burden",
    "present_residence_since": "residence_length",
    "number_of_existing_credits_at_this_bank": "existing_credits",
    "number_of_people_being_liable_to_provide_maintenance_for": "dependents",
}
# German categorical column -> (application input, German text -> application code).
CATEGORY_MAPS: dict[str, tuple[str, dict[str, str]]] = {
    "status_of_existing_checking_account": (
        "checking_account",
        {
            "... < 0 DM": "negative",
            "0 <= ... < 200 DM": "low",
            "... >= 200 DM / salary assignments for at least 1 year": "high",
            "no checking account": "none",
        },
    ),
    "credit_history": (
        "credit_history",
        {
            "no credits taken/ all credits paid back duly": "no_credit",
            "all credits at this bank paid back duly": "all_paid_here",
            "existing credits paid back duly till now": "paid_duly",
            "delay in paying off in the past": "past_delay",
            "critical account/ other credits existing (not at this bank)": "critical",
        },
    ),
    "purpose": (
        "purpose",
        {
            "car (new)": "car_new",
            "car (used)": "car_used",
            "furniture/equipment": "furniture",
            "radio/television": "radio_tv",
            "domestic appliances": "appliances",
            "repairs": "repairs",
            "education": "education",
            "retraining": "retraining",
            "business": "business",
            "others": "other",
        },
    ),
    "savings_account_and_bonds": (
        "savings",
        {
            "... < 100 DM": "lt_100",
            "100 <= ... < 500 DM": "100_500",
            "500 <= ... < 1000 DM": "500_1000",
            "... >= 1000 DM": "ge_1000",
            "unknown/ no savings account": "none",
        },
    ),
    "present_employment_since": (
        "employment_length",
        {
            "unemployed": "unemployed",
            "... < 1 year": "lt_1y",
            "1 <= ... < 4 years": "1_4y",
            "4 <= ... < 7 years": "4_7y",
            "... >= 7 years": "ge_7y",
        },
    ),
    "other_debtors_or_guarantors": (
        "guarantor",
        {"none": "none", "co-applicant": "co_applicant", "guarantor": "guarantor"},
    ),
    "property": (
        "property",
        {
            "real estate": "real_estate",
            "building society savings agreement/ life insurance": "savings_or_insurance",
            "car or other, not in attribute Savings account/bonds": "car_or_other",
            "unknown / no property": "none",
        },
    ),
    "other_installment_plans": (
        "other_installment_plans",
        {"none": "none", "bank": "bank", "stores": "stores"},
    ),
    "housing": ("housing", {"rent": "rent", "own": "own", "for free": "free"}),
    "job": (
        "job_level",
        {
            "unemployed/ unskilled - non-resident": "unskilled_nonresident",
            "unskilled - resident": "unskilled",
            "skilled employee / official": "skilled",
            "management/ self-employed/ highly qualified employee/ officer": "management",
        },
    ),
    "telephone": (
        "telephone",
        {"yes, registered under the customers name": "yes", "none": "none"},
    ),
}
TARGET = "bad"
MAX_ERRORS = 20  # a broken file lists this many problems, then how many more there are


def as_applications(table: CreditTable) -> CreditTable:
    """The German credit table with application inputs as its columns; target, protected
    segments and notes unchanged."""
    errors = [
        FieldError(name, "numeric column missing from the German credit table")
        for name in NUMERIC_NAMES
        if name not in table.numeric
    ]
    errors += [
        FieldError(name, "text column missing from the German credit table")
        for name in CATEGORY_MAPS
        if name not in table.categorical
    ]
    errors += [
        FieldError(name, "not a German credit column this mapping knows")
        for name in table.columns
        if name not in NUMERIC_NAMES and name not in CATEGORY_MAPS
    ]
    categorical: dict[str, StrArray] = {}
    for source, (name, codes) in CATEGORY_MAPS.items():
        if source not in table.categorical:
            continue
        values = table.categorical[source].tolist()
        unknown = sorted(set(values) - set(codes))
        if unknown:
            listed = ", ".join(repr(v) for v in unknown)
            errors.append(FieldError(source, f"no {name} code for the category {listed}"))
            continue
        categorical[name] = np.array([codes[v] for v in values], dtype=np.str_)
    if errors:
        raise InvalidInput(errors)
    return CreditTable(
        numeric={name: table.numeric[source] for source, name in NUMERIC_NAMES.items()},
        categorical=categorical,
        target=table.target,
        protected=table.protected,
        notes=table.notes,
    )


class _Problems:
    """The problems found in one file, each at ``FILE:LINE:column``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.errors: list[FieldError] = []
        self.more = 0

    def add(self, line: int, column: str, reason: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            where = f"{self.path}:{line}" + (f":{column}" if column else "")
            self.errors.append(FieldError(where, reason))
        else:
            self.more += 1

    def raise_any(self) -> None:
        if self.more:
            self.errors.append(FieldError(str(self.path), f"and {self.more} more problems"))
        if self.errors:
            raise InvalidInput(self.errors)


def load_credit_csv(path: Path) -> CreditTable:
    """A lender's applications as a table: one column per model input (codes as in
    ``MODEL_INPUTS``), ``bad`` (1 = defaulted, 0 = repaid), and optionally the protected
    attributes ``age_band``, ``sex``, ``marital_status``, ``foreign_worker`` (monitored for
    fairness only, never model columns). Every problem is named ``FILE:LINE:column``, all
    of them at once (up to ``MAX_ERRORS``)."""
    problems = _Problems(path)
    header, rows = _read(path, problems)
    raw = {name: [row[i] for _, row in rows] for i, name in enumerate(header)}
    lines = [line for line, _ in rows]
    table = CreditTable(
        numeric={
            n: _numbers(n, raw[n], lines, problems)
            for n, kind in MODEL_INPUTS.items()
            if kind == "numeric"
        },
        categorical={
            n: _codes(n, raw[n], kind, lines, problems)
            for n, kind in MODEL_INPUTS.items()
            if not isinstance(kind, str)
        },
        target=_target(raw[TARGET], lines, problems),
        protected={n: np.array(raw[n], dtype=np.str_) for n in PROTECTED if n in raw},
    )
    problems.raise_any()
    return table


def _read(path: Path, problems: _Problems) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the data rows with their line numbers; raises for a file that has no
    usable header or no rows."""
    rows: list[tuple[int, list[str]]] = []
    line = 1
    # utf-8-sig: a spreadsheet's byte-order mark is not part of the first column's name.
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        try:
            header = [h.strip() for h in next(reader, [])]
            if not any(header):
                problems.add(1, "", "empty file: a header row is needed")
                problems.raise_any()
            _check_header(header, problems)
            problems.raise_any()
            for row in reader:
                line = reader.line_num
                if not any(v.strip() for v in row):
                    continue  # a blank line, e.g. at the end
                if len(row) != len(header):
                    problems.add(line, "", f"{len(row)} fields where the header has {len(header)}")
                    continue
                rows.append((line, [v.strip() for v in row]))
        except (UnicodeDecodeError, csv.Error) as exc:
            # Text is decoded in blocks: a bad byte is found at or somewhat after ``line``.
            problems.add(line, "", f"unreadable at or after this line: {exc}")
            problems.raise_any()
    if not rows:
        if not problems.errors:
            problems.add(2, "", "no applications after the header")
        problems.raise_any()
    return header, rows


def _check_header(header: list[str], problems: _Problems) -> None:
    seen: set[str] = set()
    for name in header:
        if name in seen:
            problems.add(1, name, "column given twice")
        seen.add(name)
        if name not in MODEL_INPUTS and name != TARGET and name not in PROTECTED:
            problems.add(
                1,
                name,
                "unknown column: neither a model input, the target 'bad' nor a protected "
                f"attribute ({', '.join(PROTECTED)})",
            )
    for name in [*MODEL_INPUTS, TARGET]:
        if name not in seen:
            problems.add(1, name, "column missing")


def _numbers(name: str, values: list[str], lines: list[int], problems: _Problems) -> FloatArray:
    out = np.zeros(len(values), dtype=np.float64)
    for i, (v, line) in enumerate(zip(values, lines, strict=True)):
        try:
            out[i] = float(v)
        except ValueError:
            problems.add(line, name, f"not a number: {v!r}")
            continue
        if not math.isfinite(out[i]):
            problems.add(line, name, f"not a finite number: {v!r}")
    return out


def _codes(
    name: str, values: list[str], codes: tuple[str, ...], lines: list[int], problems: _Problems
) -> StrArray:
    for v, line in zip(values, lines, strict=True):
        if v not in codes:
            problems.add(line, name, f"category {v!r} not one of {', '.join(codes)}")
    return np.array(values, dtype=np.str_)


def _target(values: list[str], lines: list[int], problems: _Problems) -> IntArray:
    for v, line in zip(values, lines, strict=True):
        if v not in ("0", "1"):
            problems.add(line, TARGET, f"expected 0 (repaid) or 1 (defaulted), got {v!r}")
    return np.array([v == "1" for v in values], dtype=np.int64)
