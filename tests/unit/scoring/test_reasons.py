from __future__ import annotations

from riskloop.scoring.port import Contribution
from riskloop.scoring.reasons import principal_reasons

STATEMENTS = {
    "delinquencies_24m": "Delinquent past or present credit obligations",
    "utilisation": "Proportion of balances to credit limits is too high",
    "utilisation_6m": "Proportion of balances to credit limits is too high",
    "inquiries_6m": "Too many recent credit inquiries",
    "months_on_file": "Length of credit history is too short",
}


def _c(feature: str, value: float) -> Contribution:
    return Contribution(feature, value, "HIGH_" + feature.upper())


def test_at_most_four_specific_reasons_from_what_raised_the_risk_most() -> None:
    reasons = principal_reasons(
        [
            _c("income", -0.9),  # helped the applicant: never a reason
            _c("inquiries_6m", 0.2),
            _c("delinquencies_24m", 1.1),
            _c("utilisation", 0.7),
            _c("utilisation_6m", 0.6),  # reads the same as utilisation: one reason
            _c("months_on_file", 0.3),
            _c("address_changes", 0.25),
        ],
        STATEMENTS,
    )
    assert reasons == (
        "Delinquent past or present credit obligations",
        "Proportion of balances to credit limits is too high",
        "Length of credit history is too short",
        "Address changes",
    )


def test_no_reason_without_a_factor_against_the_applicant() -> None:
    assert principal_reasons([_c("income", -0.4)], STATEMENTS) == ()
    assert principal_reasons([_c("inquiries_6m", 0.1)], STATEMENTS, limit=9) == (
        "Too many recent credit inquiries",
    )
