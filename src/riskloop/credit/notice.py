"""Adverse-action notices: for a declined application (or one offered less than it asked
for), the principal reasons, at most four, specific, and taken from what decided it: the
knock-out rules that hit, then the inputs that raised the model's probability of default
most (their contributions, in order), each with the applicant's own value.

The notice carries no name or address: it is stored with the decision, where no PII may
be in clear, and the lender's mailing system adds the addressee (see ``docs/credit.md``).

>>> n = notice([("CREDIT_SAVINGS", "savings")], {"savings": "lt_100"},
...            event_id="app-1", product="loan", decided_on="2026-11-28")
>>> n.reasons[0].text
'Insufficient savings (under 100)'
>>> "app-1" in n.text and "1. Insufficient savings" in n.text
True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from string import Template
from typing import Any

MAX_REASONS = 4
TEMPLATE_ID = "adverse-action@1"

# What each model input means as a reason, in the words of a notice.
STATEMENTS = {
    "checking_account": "Insufficient balance in checking account",
    "term_months": "Term of the credit requested, in months",
    "credit_history": "Credit history",
    "purpose": "Purpose of the credit requested",
    "loan_amount": "Amount of credit requested",
    "savings": "Insufficient savings",
    "employment_length": "Length of employment",
    "installment_burden": "Repayment too high relative to disposable income",
    "guarantor": "No guarantor or co-applicant",
    "residence_length": "Length of residence",
    "property": "Insufficient collateral or property",
    "other_installment_plans": "Other instalment obligations",
    "housing": "Housing situation",
    "existing_credits": "Number of existing credit obligations",
    "job_level": "Type of employment",
    "dependents": "Number of dependants",
    "telephone": "No telephone on record",
}
# The applicant's value as a notice shows it.
VALUES: dict[str, dict[Any, str]] = {
    "checking_account": {
        "negative": "overdrawn",
        "low": "under 200",
        "high": "200 or more",
        "none": "no checking account",
    },
    "savings": {
        "lt_100": "under 100",
        "100_500": "100 to 500",
        "500_1000": "500 to 1,000",
        "ge_1000": "1,000 or more",
        "none": "none known",
    },
    "employment_length": {
        "unemployed": "unemployed",
        "lt_1y": "under 1 year",
        "1_4y": "1 to 4 years",
        "4_7y": "4 to 7 years",
        "ge_7y": "7 years or more",
    },
    "credit_history": {
        "no_credit": "no credit taken, or all paid back duly",
        "all_paid_here": "all credits with us paid back duly",
        "paid_duly": "existing credits paid back duly so far",
        "past_delay": "delays in paying in the past",
        "critical": "critical account or credits elsewhere",
    },
    "installment_burden": {
        1.0: "under 20 % of disposable income",
        2.0: "20 to 25 % of disposable income",
        3.0: "25 to 35 % of disposable income",
        4.0: "35 % or more of disposable income",
    },
    "residence_length": {
        1.0: "under 1 year",
        2.0: "1 to 4 years",
        3.0: "4 to 7 years",
        4.0: "7 years or more",
    },
}
# Knock-out rules' reason codes, as a notice states them (other codes: the rule's text).
RULE_STATEMENTS = {
    "CREDIT_BANKRUPTCY": "Bankruptcy on your credit file",
    "CREDIT_DELINQUENT": "Recent delinquent payments on your credit file",
    "CREDIT_DEBT_TO_INCOME": "Income insufficient for the amount of credit requested",
    "CREDIT_UNDER_AGE": "Applicant below the minimum age for credit",
    "CREDIT_UNAFFORDABLE": "Income insufficient for the amount of credit requested",
    "CREDIT_AMOUNT_LIMIT": "Amount of credit requested exceeds what we offer",
}

_TEXT = Template(
    """NOTICE OF ACTION TAKEN ON YOUR APPLICATION

Date: $date
Application reference: $reference
Product: $product

$action

The principal reasons for this action are:
$reasons

These reasons come from the information in your application and your credit file, and from
how our credit scoring system weighed them. You have the right to request, within 60 days,
a statement of the specific reasons for this action, and to obtain a free copy of any
credit report used, within 60 days, from the agency that supplied it. You may dispute the
accuracy or completeness of the information in that report with the agency.

The federal Equal Credit Opportunity Act prohibits creditors from discriminating against
credit applicants on the basis of race, color, religion, national origin, sex, marital
status or age (provided the applicant has the capacity to contract), because all or part
of the applicant's income derives from any public assistance program, or because the
applicant has in good faith exercised any right under the Consumer Credit Protection Act.
"""
)


@dataclass(frozen=True, slots=True)
class NoticeReason:
    code: str
    text: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "text": self.text}


@dataclass(frozen=True, slots=True)
class Notice:
    template: str
    reasons: tuple[NoticeReason, ...]
    text: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "template": self.template,
            "reasons": [r.as_dict() for r in self.reasons],
            "text": self.text,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Notice:
        return cls(
            d["template"],
            tuple(NoticeReason(r["code"], r["text"]) for r in d["reasons"]),
            d["text"],
        )


def value_text(feature: str, value: Any) -> str:
    shown = VALUES.get(feature, {}).get(value)
    if shown is not None:
        return shown
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}"
    return str(value).replace("_", " ")


def reason_text(code: str, feature: str | None, values: Mapping[str, Any], fallback: str) -> str:
    """One reason as the applicant reads it: the statement, with their value for a model
    input (``Insufficient savings (under 100)``)."""
    if feature is not None and feature in STATEMENTS:
        value = values.get(feature)
        shown = f" ({value_text(feature, value)})" if value is not None else ""
        return STATEMENTS[feature] + shown
    return RULE_STATEMENTS.get(code) or fallback or code.replace("_", " ").capitalize()


def principal_reasons(
    causes: Iterable[tuple[str, str | None]],
    values: Mapping[str, Any],
    texts: Mapping[str, str] | None = None,
) -> tuple[NoticeReason, ...]:
    """``causes``: (reason code, model input or None for a rule) in order of weight; the
    first four distinct statements."""
    out: list[NoticeReason] = []
    seen: set[str] = set()
    for code, feature in causes:
        text = reason_text(code, feature, values, (texts or {}).get(code, ""))
        if text in seen:
            continue
        seen.add(text)
        out.append(NoticeReason(code, text))
        if len(out) == MAX_REASONS:
            break
    return tuple(out)


def notice(
    causes: Sequence[tuple[str, str | None]],
    values: Mapping[str, Any],
    *,
    event_id: str,
    product: str,
    decided_on: str,
    counter_offer: str | None = None,
    texts: Mapping[str, str] | None = None,
) -> Notice:
    """The notice for a decline (or, with ``counter_offer``, for an offer of less than was
    asked: the text says what is offered instead)."""
    reasons = principal_reasons(causes, values, texts)
    action = (
        f"We cannot offer the amount you applied for. We can offer {counter_offer} instead."
        if counter_offer
        else "We are unable to approve your application at this time."
    )
    listed = "\n".join(f"{i}. {r.text}" for i, r in enumerate(reasons, 1)) or (
        "1. Your application did not meet our credit standards"
    )
    text = _TEXT.substitute(
        date=decided_on,
        reference=event_id,
        product="loan" if product == "loan" else "credit line",
        action=action,
        reasons=listed,
    )
    return Notice(TEMPLATE_ID, reasons, text)
