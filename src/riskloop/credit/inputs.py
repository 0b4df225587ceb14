"""From a credit application to what a credit model and the credit rules read.

The application is the ``credit_application`` contract (``riskloop.intake.contracts``); its
model inputs are derived here, once, so the decision path, the record, backtests and the
training data all speak one vocabulary. Every derived value is recorded in the decision's
feature snapshot, so a decline can be explained and replayed from its record.

The bands follow the public German credit data the bundled model is trained on (amounts in
the training data's major units; a lender who trains on its own book sets its own). What is
never an input: age, sex, marital status, nationality (protected; monitored for fairness
only). Age is used for one legal knock-out, ``adult``, and never stored.

>>> app = {"product": "loan", "requested_amount": 300000, "term_months": 24,
...        "monthly_income": 250000, "monthly_obligations": 50000, "housing": "rent",
...        "employment": {"status": "employed", "months_in_job": 30, "level": "skilled"},
...        "bureau": {"credit_history": "paid_duly", "existing_credits": 1},
...        "checking_balance": 15000, "purpose": "car_used"}
>>> x = application_inputs(app)
>>> x["loan_amount"], x["monthly_installment"], x["installment_burden"], x["checking_account"]
(3000.0, 125.0, 1.0, 'low')
>>> x["employment_length"], x["debt_to_income"], x["savings"]
('1_4y', 0.25, 'none')
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel

from riskloop.intake.contracts import CreditApplication

# The application's product: a loan has a term; a credit line is assessed as a facility repaid
# over its review period (LINE_TERM_MONTHS) for the repayment-burden figures.
PRODUCTS = ("loan", "credit_line")
LINE_TERM_MONTHS = 12
CREDIT_TYPES = frozenset({"credit_application"})

# Ordinal levels, lowest first. The model's declared directions read along these orders.
CHECKING = ("negative", "low", "high")  # "none": no checking account (outside the order)
CREDIT_HISTORY = ("no_credit", "all_paid_here", "paid_duly", "past_delay", "critical")
SAVINGS = ("lt_100", "100_500", "500_1000", "ge_1000")  # "none": unknown or no savings
EMPLOYMENT = ("unemployed", "lt_1y", "1_4y", "4_7y", "ge_7y")


def _choices(model: type[BaseModel], path: str) -> tuple[str, ...]:
    """The values a contract field allows (its ``Literal``, optional or not), in order."""
    *parents, name = path.split(".")
    for parent in parents:
        model = model.model_fields[parent].annotation  # type: ignore[assignment]
    annotation = model.model_fields[name].annotation
    branches = get_args(annotation) if get_origin(annotation) is not Literal else (annotation,)
    return next(get_args(b) for b in branches if get_origin(b) is Literal)


# Nominal categories (no order), as the contract states them.
PURPOSES = _choices(CreditApplication, "purpose")
GUARANTOR = _choices(CreditApplication, "guarantor")
PROPERTY = _choices(CreditApplication, "property")
INSTALLMENT_PLANS = _choices(CreditApplication, "bureau.other_installment_plans")
HOUSING = _choices(CreditApplication, "housing")
JOB_LEVEL = ("unskilled_nonresident", "unskilled", "skilled", "management")
TELEPHONE = ("yes", "none")

# Model inputs: name -> "numeric" or its categories (what a credit model may read).
MODEL_INPUTS: dict[str, str | tuple[str, ...]] = {
    "checking_account": (*CHECKING, "none"),
    "term_months": "numeric",
    "credit_history": CREDIT_HISTORY,
    "purpose": PURPOSES,
    "loan_amount": "numeric",
    "savings": (*SAVINGS, "none"),
    "employment_length": EMPLOYMENT,
    "installment_burden": "numeric",  # 1-4: the repayment's share of disposable income
    "guarantor": GUARANTOR,
    "residence_length": "numeric",  # 1-4: <1, 1-4, 4-7, 7+ years at the address
    "property": PROPERTY,
    "other_installment_plans": INSTALLMENT_PLANS,
    "housing": HOUSING,
    "existing_credits": "numeric",  # 1-4, as counted in the training data
    "job_level": JOB_LEVEL,
    "dependents": "numeric",  # 1-2: one, or two and more, people the applicant maintains
    "telephone": TELEPHONE,
}
# Policy inputs: what credit rules and the limit table read beside the score.
POLICY_INPUTS: dict[str, str] = {
    "monthly_installment": "double",  # major units, the requested amount over the term
    "debt_to_income": "double",  # (obligations + new installment) / income
    "adult": "bool",
    "delinquencies_24m": "int",
    "bankruptcy": "bool",
}
# CEL types of every derived input, for the rules' vocabulary.
INPUT_TYPES: dict[str, str] = {
    **{n: "double" if k == "numeric" else "string" for n, k in MODEL_INPUTS.items()},
    **POLICY_INPUTS,
}
NO_INCOME_DTI = 99.0  # no income: any obligation is unaffordable


def _major(minor: Any) -> float:
    return round(float(minor) / 100.0, 2)


def _band(value: float, cuts: tuple[float, ...], labels: tuple[str, ...]) -> str:
    """The label of the first cut ``value`` is below, else the last label."""
    for cut, label in zip(cuts, labels, strict=False):
        if value < cut:
            return label
    return labels[-1]


def term_of(app: Mapping[str, Any]) -> int:
    term = app.get("term_months")
    return int(term) if term else LINE_TERM_MONTHS


def installment_burden(installment: float, disposable: float) -> float:
    """The German data's 1-4 code: <20 %, 20-25 %, 25-35 %, 35 % and over of disposable
    income (income less existing obligations); nothing disposable is the top code.

    >>> installment_burden(100, 1000), installment_burden(300, 1000), installment_burden(1, 0)
    (1.0, 3.0, 4.0)
    """
    if disposable <= 0:
        return 4.0
    share = installment / disposable
    return float(1 + sum(share >= c for c in (0.20, 0.25, 0.35)))


def employment_length(employment: Mapping[str, Any]) -> str:
    if employment.get("status") == "unemployed":
        return "unemployed"
    months = employment.get("months_in_job")
    if months is None:  # retired, student or not given: the shortest tenure, never a longer one
        return "lt_1y"
    return _band(float(months), (12, 48, 84), ("lt_1y", "1_4y", "4_7y", "ge_7y"))


def job_level(employment: Mapping[str, Any]) -> str:
    """The level given (for the unemployed: of their last job); the training data files
    the self-employed under management and the unemployed without one with the unskilled
    non-residents."""
    if employment.get("status") == "self_employed":
        return "management"
    if employment.get("level"):
        return str(employment["level"])
    return "unskilled_nonresident" if employment.get("status") == "unemployed" else "unskilled"


def is_adult(date_of_birth: Any, on: date) -> bool | None:
    """18 or over on ``on``; ``None`` without a date of birth."""
    if date_of_birth is None:
        return None
    born = date.fromisoformat(date_of_birth) if isinstance(date_of_birth, str) else date_of_birth
    return (on.year - born.year - ((on.month, on.day) < (born.month, born.day))) >= 18


def application_inputs(app: Mapping[str, Any], *, on: date | None = None) -> dict[str, Any]:
    """The derived inputs of one application (its JSON form, in clear or after the vault:
    only ``adult`` needs the clear date of birth, and is ``None`` without it)."""
    employment: Mapping[str, Any] = app.get("employment") or {}
    bureau: Mapping[str, Any] = app.get("bureau") or {}
    applicant: Mapping[str, Any] = app.get("applicant") or {}
    amount = _major(app["requested_amount"])
    term = term_of(app)
    installment = round(amount / term, 2)
    income = _major(app.get("monthly_income", 0))
    obligations = _major(app.get("monthly_obligations", 0))
    checking = app.get("checking_balance")
    savings = app.get("savings_balance")
    months_here = app.get("months_at_address")
    dependents = int(app.get("dependents", 0))
    phone = applicant.get("phone") or applicant.get("phone_hash")
    return {
        "checking_account": (
            "none"
            if checking is None
            else _band(_major(checking), (0.0, 200.0), ("negative", "low", "high"))
        ),
        "term_months": float(term),
        "credit_history": str(bureau.get("credit_history", "no_credit")),
        "purpose": str(app.get("purpose") or "other"),
        "loan_amount": amount,
        "savings": (
            "none" if savings is None else _band(_major(savings), (100.0, 500.0, 1000.0), SAVINGS)
        ),
        "employment_length": employment_length(employment),
        "installment_burden": installment_burden(installment, income - obligations),
        "guarantor": str(app.get("guarantor") or "none"),
        "residence_length": (
            1.0
            if months_here is None
            else float(_band(float(months_here), (12, 48, 84), ("1", "2", "3", "4")))
        ),
        "property": str(app.get("property") or "none"),
        "other_installment_plans": str(bureau.get("other_installment_plans") or "none"),
        "housing": str(app.get("housing") or "rent"),
        "existing_credits": float(min(4, max(1, int(bureau.get("existing_credits", 0))))),
        "job_level": job_level(employment),
        "dependents": 2.0 if dependents >= 2 else 1.0,
        "telephone": "yes" if phone else "none",
        "monthly_installment": installment,
        "debt_to_income": (
            round((obligations + installment) / income, 4) if income > 0 else NO_INCOME_DTI
        ),
        "adult": (
            is_adult(applicant.get("date_of_birth"), on or date.today())
            if "date_of_birth" in applicant
            else None
        ),
        "delinquencies_24m": int(bureau.get("delinquencies_24m", 0)),
        "bankruptcy": bool(bureau.get("bankruptcy", False)),
    }
