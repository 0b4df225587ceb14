"""What a credit model reads and how: the declared columns, their risk direction, their
encoding for LightGBM, and the adverse-action reason both credit models return.

A column is ``numeric``, ``ordinal`` (text with a declared order, coded 0, 1, ... along it;
categories outside the order, such as "no checking account", are a missing value that the
trees route on their own) or ``nominal`` (one-hot over the categories seen in training).
Ordinal codes keep one column per feature, so a monotone constraint on it means what the
business says; one-hot columns stay unconstrained. LightGBM's own categorical splits are not
used: exact TreeSHAP (``riskloop.scoring.treeshap``) refuses them.

``monotone`` is the declared direction of the probability of default: +1 = a higher value
(or a later level of the order) never lowers it, -1 = never raises it, 0 = free.
Protected attributes (``credit_data.PROTECTED_SOURCES`` and the segments derived from them)
are refused as columns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from riskloop.errors import InvalidDefinition
from riskloop.training.credit_data import PROTECTED, PROTECTED_SOURCES

FloatArray = npt.NDArray[np.float64]
Kind = Literal["numeric", "ordinal", "nominal"]


@dataclass(frozen=True, slots=True)
class Reason:
    """One principal reason for a decline. ``value`` is how much the feature cost the
    applicant: log-odds of default for LightGBM (TreeSHAP), points for the scorecard."""

    feature: str
    text: str
    value: float


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    label: str  # what an applicant reads in a reason, e.g. "Duration in month"
    kind: Kind = "numeric"
    monotone: int = 0
    order: tuple[str, ...] = ()  # ordinal: the levels, in the direction ``monotone`` reads


@dataclass(frozen=True)
class CreditSpec:
    columns: tuple[Column, ...]

    def __post_init__(self) -> None:
        for c in self.columns:
            if c.name in PROTECTED_SOURCES or c.name in PROTECTED:
                raise InvalidDefinition(
                    f"credit spec column {c.name!r}",
                    "a protected attribute: used for fairness monitoring only, never as input",
                )
            if c.monotone not in (-1, 0, 1):
                raise InvalidDefinition(f"credit spec column {c.name!r}", "monotone: -1, 0 or 1")
            if c.kind == "ordinal" and not c.order:
                raise InvalidDefinition(f"credit spec column {c.name!r}", "ordinal needs order")
            if c.kind == "nominal" and c.monotone:
                raise InvalidDefinition(f"credit spec column {c.name!r}", "nominal: no direction")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def monotone(self) -> dict[str, int]:
        return {c.name: c.monotone for c in self.columns}

    @property
    def labels(self) -> dict[str, str]:
        return {c.name: c.label for c in self.columns}

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": [
                {"name": c.name, "label": c.label, "kind": c.kind, "monotone": c.monotone}
                | ({"order": list(c.order)} if c.order else {})
                for c in self.columns
            ]
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> CreditSpec:
        kinds: dict[str, Kind] = {"numeric": "numeric", "ordinal": "ordinal", "nominal": "nominal"}
        return cls(
            tuple(
                Column(
                    str(c["name"]),
                    str(c["label"]),
                    kinds[str(c["kind"])],
                    int(c["monotone"]),
                    tuple(str(o) for o in c.get("order", ())),
                )
                for c in doc["columns"]
            )
        )


class Encoder:
    """A spec's columns as LightGBM's float matrix. ``features[j]`` comes from column
    ``sources[j]`` and carries constraint ``constraints[j]``."""

    def __init__(self, spec: CreditSpec, categories: Mapping[str, Sequence[str]]) -> None:
        self.spec = spec
        self.categories = {k: tuple(v) for k, v in categories.items()}
        self.features: list[str] = []
        self.sources: list[str] = []
        self.constraints: list[int] = []
        for c in spec.columns:
            names = (
                [f"{c.name}__{i}" for i in range(len(self.categories[c.name]))]
                if c.kind == "nominal"
                else [c.name]
            )
            self.features += names
            self.sources += [c.name] * len(names)
            self.constraints += [c.monotone] * len(names)

    @classmethod
    def fit(cls, spec: CreditSpec, columns: Mapping[str, npt.ArrayLike]) -> Encoder:
        """One-hot categories are the ones seen in ``columns`` (the training rows)."""
        return cls(
            spec,
            {
                c.name: sorted(set(np.asarray(columns[c.name], dtype=np.str_).tolist()))
                for c in spec.columns
                if c.kind == "nominal"
            },
        )

    def encode(self, columns: Mapping[str, npt.ArrayLike]) -> FloatArray:
        parts: list[FloatArray] = []
        for c in self.spec.columns:
            values = np.asarray(columns[c.name])
            if c.kind == "numeric":
                parts.append(values.astype(np.float64)[:, None])
            elif c.kind == "ordinal":
                code = {level: float(i) for i, level in enumerate(c.order)}
                text = values.astype(np.str_).tolist()
                parts.append(np.array([code.get(v, np.nan) for v in text])[:, None])
            else:  # an unseen category is all zeros
                cats = np.array(self.categories[c.name], dtype=np.str_)
                parts.append((values.astype(np.str_)[:, None] == cats[None, :]).astype(np.float64))
        return np.hstack(parts) if parts else np.zeros((0, 0))

    def encode_one(self, applicant: Mapping[str, float | str]) -> FloatArray:
        row: FloatArray = self.encode({k: np.array([applicant[k]]) for k in self.spec.names})[0]
        return row

    def to_dict(self) -> dict[str, Any]:
        return {
            "spec": self.spec.to_dict(),
            "categories": {k: list(v) for k, v in self.categories.items()},
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> Encoder:
        return cls(CreditSpec.from_dict(doc["spec"]), doc["categories"])


def value_text(value: float | str) -> str:
    """An applicant's value as a reason shows it.

    >>> value_text(48.0), value_text(1234.5), value_text("none")
    ('48', '1,234.5', 'none')
    """
    if isinstance(value, str):
        return value
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.6g}"


# The German credit columns. Orders follow the data set's own codes (A30..A34, A61..A64,
# A71..A75); the directions are business rules, not what this sample happens to show.
GERMAN = CreditSpec(
    (
        Column(
            "status_of_existing_checking_account",
            "Checking account balance",
            "ordinal",
            -1,  # a higher balance never raises the risk; "no checking account" is outside
            (
                "... < 0 DM",
                "0 <= ... < 200 DM",
                "... >= 200 DM / salary assignments for at least 1 year",
            ),
        ),
        Column("duration_in_month", "Duration in month", "numeric", +1),
        Column(
            "credit_history",
            "Credit history",
            "ordinal",
            +1,  # more delinquency never lowers the risk
            (
                "no credits taken/ all credits paid back duly",
                "all credits at this bank paid back duly",
                "existing credits paid back duly till now",
                "delay in paying off in the past",
                "critical account/ other credits existing (not at this bank)",
            ),
        ),
        Column("purpose", "Purpose", "nominal"),
        Column("credit_amount", "Credit amount", "numeric"),
        Column(
            "savings_account_and_bonds",
            "Savings account and bonds",
            "ordinal",
            -1,  # more savings never raise the risk; "unknown/ no savings account" is outside
            ("... < 100 DM", "100 <= ... < 500 DM", "500 <= ... < 1000 DM", "... >= 1000 DM"),
        ),
        Column(
            "present_employment_since",
            "Present employment since",
            "ordinal",
            -1,  # a longer employment never raises the risk
            (
                "unemployed",
                "... < 1 year",
                "1 <= ... < 4 years",
                "4 <= ... < 7 years",
                "... >= 7 years",
            ),
        ),
        Column(
            "installment_rate_in_percentage_of_disposable_income",
            "Installment rate in percentage of disposable income",
            "numeric",
            +1,  # a larger repayment burden relative to income never lowers the risk
        ),
        Column("other_debtors_or_guarantors", "Other debtors or guarantors", "nominal"),
        Column("present_residence_since", "Present residence since", "numeric"),
        Column("property", "Property", "nominal"),
        Column("other_installment_plans", "Other installment plans", "nominal"),
        Column("housing", "Housing", "nominal"),
        Column(
            "number_of_existing_credits_at_this_bank", "Existing credits at this bank", "numeric"
        ),
        Column("job", "Job", "nominal"),
        Column(
            "number_of_people_being_liable_to_provide_maintenance_for",
            "Number of people being liable to provide maintenance for",
            "numeric",
        ),
        Column("telephone", "Telephone", "nominal"),
    )
)
