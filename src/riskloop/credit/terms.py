"""What an approved (or reviewed) application is offered: a risk grade from the probability
of default, its price, and a limit no larger than asked for, than a multiple of income, or
than the applicant can afford.

The table is part of the credit policy (``credit:`` in a policy document); without one,
:data:`DEFAULT_TABLE` applies. ``docs/credit.md`` prints it.

>>> t = DEFAULT_TABLE.grade_for(0.12)
>>> t.grade, t.apr
('B', 9.9)
>>> round(max_principal(100.0, 12.0, 12), 2)
1125.51
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from riskloop.credit.inputs import term_of
from riskloop.errors import FieldError, InvalidInput


@dataclass(frozen=True, slots=True)
class Band:
    grade: str
    max_pd: float  # the band holds PDs up to and including this
    apr: float  # annual percentage rate, in percent
    income_multiple: float  # the limit is at most this many months of net income

    def as_dict(self) -> dict[str, Any]:
        return {
            "grade": self.grade,
            "max_pd": self.max_pd,
            "apr": self.apr,
            "income_multiple": self.income_multiple,
        }


@dataclass(frozen=True, slots=True)
class PriceTable:
    bands: tuple[Band, ...]  # by max_pd, the last one reaching 1
    max_dti: float = 0.45  # new and existing repayments at most this share of net income
    round_to: int = 10_000  # limits are rounded down to this many minor units (100.00)

    def grade_for(self, pd: float) -> Band:
        return next((b for b in self.bands if pd <= b.max_pd), self.bands[-1])

    def as_dict(self) -> dict[str, Any]:
        return {
            "bands": [b.as_dict() for b in self.bands],
            "max_dti": self.max_dti,
            "round_to": self.round_to,
        }


# Grades by PD, priced so that the margin over expected loss stays comparable; the German
# data's average PD is 0.30, so most applicants fall in B to D.
DEFAULT_TABLE = PriceTable(
    (
        Band("A", 0.10, 6.9, 8.0),
        Band("B", 0.20, 9.9, 6.0),
        Band("C", 0.30, 14.9, 4.0),
        Band("D", 0.45, 21.9, 2.0),
        Band("E", 1.0, 29.9, 1.0),
    )
)


@dataclass(frozen=True, slots=True)
class Offer:
    grade: str
    pd: float
    apr: float
    amount: int  # minor units: the loan or the credit limit offered
    monthly_payment: int  # minor units, at the APR over the term
    counter_offer: bool  # less than was asked for

    def as_dict(self) -> dict[str, Any]:
        return {
            "grade": self.grade,
            "pd": self.pd,
            "apr": self.apr,
            "amount": self.amount,
            "monthly_payment": self.monthly_payment,
            "counter_offer": self.counter_offer,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Offer:
        return cls(
            d["grade"], d["pd"], d["apr"], d["amount"], d["monthly_payment"], d["counter_offer"]
        )


def annuity(principal: float, apr: float, months: int) -> float:
    """The monthly payment that repays ``principal`` over ``months`` at ``apr`` percent."""
    r = apr / 1200.0
    if r == 0:
        return principal / months
    return principal * r / (1 - (1 + r) ** -months)


def max_principal(payment: float, apr: float, months: int) -> float:
    """The largest principal a monthly ``payment`` repays over ``months`` at ``apr``."""
    r = apr / 1200.0
    if payment <= 0:
        return 0.0
    if r == 0:
        return payment * months
    return payment * (1 - (1 + r) ** -months) / r


def offer(app: Mapping[str, Any], pd: float, table: PriceTable = DEFAULT_TABLE) -> Offer:
    """The grade, price and amount for an application (its JSON form) at ``pd``. The amount
    is the least of what was asked, the grade's income multiple and what ``max_dti``
    leaves for a new repayment; 0 when nothing is affordable."""
    band = table.grade_for(pd)
    months = term_of(app)
    requested = int(app["requested_amount"])
    income = int(app.get("monthly_income", 0))
    obligations = int(app.get("monthly_obligations", 0))
    affordable = max_principal(table.max_dti * income - obligations, band.apr, months)
    cap = min(float(requested), band.income_multiple * income, affordable)
    amount = requested if cap >= requested else int(cap // table.round_to) * table.round_to
    amount = max(0, amount)
    payment = math.ceil(annuity(amount, band.apr, months)) if amount else 0
    return Offer(band.grade, round(pd, 6), band.apr, amount, payment, amount < requested)


def _number(raw: Any, where: str, lo: float, hi: float, errors: list[FieldError]) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not lo <= raw <= hi:
        errors.append(FieldError(where, f"must be a number from {lo:g} to {hi:g}"))
        return lo
    return float(raw)


def table_from_dict(doc: Any, where: str = "credit") -> PriceTable:
    """A policy's ``credit:`` section; every problem named with its field."""
    if not isinstance(doc, dict):
        raise InvalidInput([FieldError(where, "must be an object with bands")])
    errors = [FieldError(f"{where}.{k}", "unknown field") for k in sorted(set(doc) - _KEYS)]
    raw = doc.get("bands")
    if not isinstance(raw, list) or not raw or len(raw) > 26:
        errors.append(FieldError(f"{where}.bands", "must be a list of 1 to 26 bands"))
        raw = []
    bands = []
    for i, b in enumerate(raw):
        at = f"{where}.bands[{i}]"
        if not isinstance(b, dict):
            errors.append(FieldError(at, "must be an object"))
            continue
        errors += [FieldError(f"{at}.{k}", "unknown field") for k in sorted(set(b) - _BAND_KEYS)]
        grade = b.get("grade")
        if not isinstance(grade, str) or not 1 <= len(grade) <= 8:
            errors.append(FieldError(f"{at}.grade", "must be a name of 1 to 8 characters"))
            grade = "?"
        bands.append(
            Band(
                grade,
                _number(b.get("max_pd"), f"{at}.max_pd", 0.0, 1.0, errors),
                _number(b.get("apr"), f"{at}.apr", 0.0, 100.0, errors),
                _number(b.get("income_multiple"), f"{at}.income_multiple", 0.0, 120.0, errors),
            )
        )
    for i in range(1, len(bands)):
        if bands[i].max_pd <= bands[i - 1].max_pd:
            errors.append(FieldError(f"{where}.bands[{i}].max_pd", "must rise from band to band"))
    if bands and bands[-1].max_pd != 1.0:
        errors.append(FieldError(f"{where}.bands[{len(bands) - 1}].max_pd", "the last must be 1"))
    if len({b.grade for b in bands}) != len(bands):
        errors.append(FieldError(f"{where}.bands", "grades must differ"))
    max_dti = _number(doc.get("max_dti", 0.45), f"{where}.max_dti", 0.01, 1.0, errors)
    round_to = doc.get("round_to", 10_000)
    if isinstance(round_to, bool) or not isinstance(round_to, int) or not 1 <= round_to <= 10**8:
        errors.append(FieldError(f"{where}.round_to", "must be a whole number of minor units"))
        round_to = 1
    if errors:
        raise InvalidInput(errors)
    return PriceTable(tuple(bands), max_dti, round_to)


_KEYS = frozenset({"bands", "max_dti", "round_to"})
_BAND_KEYS = frozenset({"grade", "max_pd", "apr", "income_multiple"})
