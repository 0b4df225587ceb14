"""A row of a credit table (in the application vocabulary) back as a ``credit_application``
event, so real applicants can be decided end to end: benchmarks, the quickstart, and the
test that the decision path derives the inputs the model was trained on.

Each band becomes a value inside it (a "low" checking balance is 100.00), and the
repayment burden becomes an income at the middle of its band. One input does not round
trip: the training data files some employed people as ``unskilled_nonresident``, which an
application cannot say (a job's level is unskilled, skilled or management), so they come
back as ``unskilled``.

>>> e = application_event({"checking_account": "low", "term_months": 24.0,
...     "credit_history": "paid_duly", "purpose": "car_used", "loan_amount": 2400.0,
...     "savings": "none", "employment_length": "1_4y", "installment_burden": 2.0,
...     "guarantor": "none", "residence_length": 3.0, "property": "none",
...     "other_installment_plans": "none", "housing": "rent", "existing_credits": 1.0,
...     "job_level": "skilled", "dependents": 1.0, "telephone": "none"}, event_id="g-1",
...     occurred_at="2026-11-28T10:00:00Z")
>>> e["checking_balance"], e["requested_amount"], e["monthly_income"], "savings_balance" in e
(10000, 240000, 44445, False)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

_CHECKING = {"negative": -5_000, "low": 10_000, "high": 50_000}  # minor units; none: absent
_SAVINGS = {"lt_100": 5_000, "100_500": 30_000, "500_1000": 70_000, "ge_1000": 150_000}
_MONTHS = {"lt_1y": 6, "1_4y": 30, "4_7y": 66, "ge_7y": 120}
_RESIDENCE = {1: 6, 2: 30, 3: 66, 4: 120}
_SHARE = {1: 0.10, 2: 0.225, 3: 0.30, 4: 0.45}  # repayment / disposable income, mid-band


def application_event(
    applicant: Mapping[str, float | str], *, event_id: str, occurred_at: str
) -> dict[str, Any]:
    """The loan application that derives ``applicant``'s inputs (see the module's note)."""
    term = int(applicant["term_months"])
    amount = round(float(applicant["loan_amount"]) * 100)
    share = _SHARE[int(applicant["installment_burden"])]
    income = math.ceil(amount / term / share)
    tenure = str(applicant["employment_length"])
    level = str(applicant["job_level"])
    employment: dict[str, Any] = {"status": "unemployed" if tenure == "unemployed" else "employed"}
    if tenure != "unemployed":
        employment["months_in_job"] = _MONTHS[tenure]
    if level != "unskilled_nonresident":
        employment["level"] = level
    elif tenure != "unemployed":
        employment["level"] = "unskilled"  # cannot be said of an employed applicant
    event: dict[str, Any] = {
        "event_id": event_id,
        "event_type": "credit_application",
        "occurred_at": occurred_at,
        "product": "loan",
        "applicant": {
            "first_name": "Applicant",
            "last_name": event_id,
            "date_of_birth": "1980-01-01",
            **({"phone": "+49 30 1234567"} if applicant["telephone"] == "yes" else {}),
        },
        "requested_amount": amount,
        "currency": "EUR",
        "term_months": term,
        "purpose": applicant["purpose"],
        "monthly_income": income,
        "monthly_obligations": 0,
        "dependents": int(applicant["dependents"]),
        "housing": applicant["housing"],
        "months_at_address": _RESIDENCE[int(applicant["residence_length"])],
        "property": applicant["property"],
        "guarantor": applicant["guarantor"],
        "employment": employment,
        "bureau": {
            "credit_history": applicant["credit_history"],
            "existing_credits": int(applicant["existing_credits"]),
            "other_installment_plans": applicant["other_installment_plans"],
        },
    }
    if applicant["checking_account"] != "none":
        event["checking_balance"] = _CHECKING[str(applicant["checking_account"])]
    if applicant["savings"] != "none":
        event["savings_balance"] = _SAVINGS[str(applicant["savings"])]
    return event
