"""The credit step without a model: inputs derived from an application, the grade, price and
limit table, and adverse-action notices (riskloop.credit)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from riskloop.credit.assess import UNAFFORDABLE, UNSCORED, CreditResult, assess
from riskloop.credit.inputs import MODEL_INPUTS, NO_INCOME_DTI, application_inputs, is_adult
from riskloop.credit.notice import MAX_REASONS, STATEMENTS, notice
from riskloop.credit.terms import DEFAULT_TABLE, annuity, max_principal, offer, table_from_dict
from riskloop.errors import InvalidInput
from riskloop.intake.registry import latest


def application(**changes: Any) -> dict[str, Any]:
    app: dict[str, Any] = {
        "event_id": "app-1",
        "event_type": "credit_application",
        "occurred_at": "2026-11-28T10:00:00Z",
        "product": "loan",
        "applicant": {"first_name": "Ada", "last_name": "Byron", "date_of_birth": "1990-02-03"},
        "requested_amount": 500_000,
        "currency": "EUR",
        "term_months": 24,
        "purpose": "car_used",
        "monthly_income": 300_000,
        "monthly_obligations": 60_000,
        "housing": "rent",
        "employment": {"status": "employed", "months_in_job": 50, "level": "skilled"},
        "bureau": {"credit_history": "paid_duly", "existing_credits": 2},
    }
    app.update(changes)
    return app


def clear(app: dict[str, Any]) -> dict[str, Any]:
    """As the decision path sees it: validated, then dumped."""
    model = latest("credit_application").model
    return model.model_validate(app).model_dump(mode="json", exclude_none=True)


# -- contract ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"term_months": None}, "term_months"),
        ({"purpose": None}, "purpose"),
        ({"product": "credit_line"}, "term_months"),  # a credit line has no term
        ({"requested_amount": 0}, "requested_amount"),
        ({"monthly_income": -1}, "monthly_income"),
        ({"bureau": {"credit_history": "bad"}}, "bureau.credit_history"),
        ({"bureau": {"credit_history": "critical", "delinquencies_24m": True}}, "bureau"),
        ({"employment": {"status": "employed", "months_in_job": 9999}}, "employment"),
    ],
)
def test_a_bad_application_names_the_field(changes: dict[str, Any], field: str) -> None:
    app = {k: v for k, v in application(**changes).items() if v is not None}
    with pytest.raises(ValidationError) as raised:
        clear(app)
    assert field in str(raised.value)


def test_the_applicant_is_pii_for_the_vault() -> None:
    from riskloop.rules.schema import event_fields

    fields = event_fields("credit_application")
    assert "applicant.first_name" not in fields  # sealed: rules never see names
    assert "applicant.date_of_birth" not in fields
    assert fields["bureau.bankruptcy"] == "bool"
    assert fields["requested_amount"] == "int"


# -- inputs -----------------------------------------------------------------------------


def test_inputs_cover_every_model_input_in_its_declared_categories() -> None:
    x = application_inputs(clear(application()), on=date(2026, 11, 28))
    for name, kind in MODEL_INPUTS.items():
        assert name in x
        if kind != "numeric":
            assert x[name] in kind, name
    assert x["loan_amount"] == 5000.0
    assert x["monthly_installment"] == pytest.approx(5000 / 24, abs=0.01)
    assert x["debt_to_income"] == pytest.approx((600 + 5000 / 24) / 3000, abs=1e-4)
    assert x["employment_length"] == "4_7y"
    assert x["existing_credits"] == 2.0
    assert x["adult"] is True


def test_inputs_bands_and_edges() -> None:
    on = date(2026, 11, 28)
    x = application_inputs(
        clear(
            application(
                checking_balance=-500,
                savings_balance=60_000,
                monthly_income=0,
                dependents=3,
                months_at_address=100,
                employment={"status": "unemployed"},
                bureau={"credit_history": "critical", "existing_credits": 9},
            )
        ),
        on=on,
    )
    assert x["checking_account"] == "negative"
    assert x["savings"] == "500_1000"
    assert x["debt_to_income"] == NO_INCOME_DTI
    assert x["installment_burden"] == 4.0  # nothing disposable
    assert x["dependents"] == 2.0 and x["residence_length"] == 4.0
    assert x["employment_length"] == "unemployed"
    assert x["job_level"] == "unskilled_nonresident"
    assert x["existing_credits"] == 4.0
    line = application_inputs(
        clear(application(product="credit_line", term_months=None, purpose=None)), on=on
    )
    assert line["term_months"] == 12.0 and line["purpose"] == "other"


def test_adult_on_the_application_date_and_unknown_without_a_birth_date() -> None:
    assert is_adult("2008-11-28", date(2026, 11, 28)) is True
    assert is_adult("2008-11-29", date(2026, 11, 28)) is False
    sealed = application(applicant={"first_name": "A", "last_name": "B"})
    assert application_inputs(clear(sealed))["adult"] is None


# -- the table ----------------------------------------------------------------------------


def test_annuity_and_principal_invert() -> None:
    assert max_principal(annuity(10_000, 9.9, 36), 9.9, 36) == pytest.approx(10_000)
    assert annuity(1200, 0, 12) == 100


def test_an_affordable_request_is_offered_in_full_at_its_grade() -> None:
    o = offer(clear(application()), 0.12)
    assert (o.grade, o.apr, o.amount, o.counter_offer) == ("B", 9.9, 500_000, False)
    assert o.monthly_payment == pytest.approx(annuity(500_000, 9.9, 24), abs=1)


def test_a_request_beyond_income_or_affordability_is_cut_and_rounded() -> None:
    big = clear(application(requested_amount=5_000_000, term_months=12))
    o = offer(big, 0.25)
    # affordable: 45 % of 3,000 less 600 = 750 a month over 12 months at 14.9 %
    assert o.amount == int(max_principal(75_000, 14.9, 12) // 10_000) * 10_000
    assert o.counter_offer and o.amount < 4 * 300_000
    assert offer(clear(application(monthly_obligations=200_000)), 0.05).amount == 0


def test_a_policy_table_is_checked_field_by_field() -> None:
    table = table_from_dict(DEFAULT_TABLE.as_dict())
    assert table == DEFAULT_TABLE
    with pytest.raises(InvalidInput) as raised:
        table_from_dict(
            {
                "bands": [
                    {"grade": "A", "max_pd": 0.3, "apr": 5, "income_multiple": 4},
                    {"grade": "A", "max_pd": 0.2, "apr": "x", "income_multiple": 4, "fee": 1},
                ],
                "max_dti": 2,
            }
        )
    fields = {e.field for e in raised.value.errors}
    assert {
        "credit.bands[1].apr",
        "credit.bands[1].fee",
        "credit.bands[1].max_pd",
        "credit.bands",
        "credit.max_dti",
    } <= fields


def test_a_credit_table_only_on_credit_policies() -> None:
    from riskloop.intake import EVENT_TYPES
    from riskloop.policy import policy_from_dict

    doc = {"id": "p", "event_types": ["transfer"], "credit": DEFAULT_TABLE.as_dict()}
    with pytest.raises(InvalidInput) as raised:
        policy_from_dict(doc, known_types=EVENT_TYPES)
    assert raised.value.errors[0].field == "credit"
    doc["event_types"] = ["credit_application"]
    assert policy_from_dict(doc, known_types=EVENT_TYPES).credit == DEFAULT_TABLE


# -- notices and the credit step --------------------------------------------------------


def test_a_notice_states_at_most_four_specific_reasons_and_no_pii() -> None:
    values = application_inputs(clear(application(savings_balance=5000)))
    causes = [(f"CREDIT_{f.upper()}", f) for f in STATEMENTS]
    n = notice(causes, values, event_id="app-1", product="loan", decided_on="2026-11-28")
    assert len(n.reasons) == MAX_REASONS
    assert n.reasons[0].text == "Insufficient balance in checking account (no checking account)"
    assert n.reasons[1].text == "Term of the credit requested, in months (24)"
    assert notice([("S", "savings")], values, event_id="a", product="loan", decided_on="d").reasons[
        0
    ].text == ("Insufficient savings (under 100)")
    assert "Ada" not in n.text and "Byron" not in n.text and "1990" not in n.text
    assert "app-1" in n.text and "Equal Credit Opportunity Act" in n.text


def _assess(app: dict[str, Any], outcome: str, pd: float | None, **kw: Any) -> Any:
    data = clear(app)
    return assess(
        data,
        event_id="app-1",
        outcome=outcome,
        pd=pd,
        declined_by=kw.get("declined_by", []),
        drivers=kw.get("drivers", [("CREDIT_SAVINGS", "savings"), ("CREDIT_TERM", "term_months")]),
        values=application_inputs(data),
        decided_on="2026-11-28",
    )


def test_a_model_decline_gets_the_models_reasons() -> None:
    a = _assess(application(), "decline", 0.7)
    assert a.outcome == "decline" and a.result.offer is None
    assert [r.code for r in a.result.notice.reasons] == ["CREDIT_SAVINGS", "CREDIT_TERM"]


def test_a_knock_out_decline_gets_the_rules_reasons_only() -> None:
    a = _assess(application(), "decline", 0.05, declined_by=[("CREDIT_BANKRUPTCY", "bankruptcy")])
    assert [r.text for r in a.result.notice.reasons] == ["Bankruptcy on your credit file"]


def test_approve_offers_counter_offers_or_declines_what_is_unaffordable() -> None:
    ok = _assess(application(), "approve", 0.12)
    assert ok.outcome == "approve" and ok.result.notice is None and ok.result.offer.grade == "B"
    cut = _assess(application(requested_amount=5_000_000), "approve", 0.12)
    assert cut.result.offer.counter_offer and cut.result.notice is not None
    assert "We can offer" in cut.result.notice.text
    broke = _assess(application(monthly_obligations=200_000), "approve", 0.12)
    assert (broke.outcome, broke.reasons) == ("decline", (UNAFFORDABLE,))
    assert broke.result.notice.reasons[0].code == UNAFFORDABLE
    unscored = _assess(application(), "approve", None)
    assert (unscored.outcome, unscored.reasons) == ("review", (UNSCORED,))


def test_the_credit_result_round_trips() -> None:
    for a in (
        _assess(application(), "approve", 0.12),
        _assess(application(), "decline", 0.9),
        _assess(application(), "review", 0.4),
    ):
        assert CreditResult.from_dict(a.result.as_dict()) == a.result


def test_the_declared_orders_cover_exactly_what_the_contract_allows() -> None:
    from riskloop.credit.inputs import CREDIT_HISTORY, _choices
    from riskloop.intake.contracts import CreditApplication

    assert set(CREDIT_HISTORY) == set(_choices(CreditApplication, "bureau.credit_history"))
    assert set(_choices(CreditApplication, "purpose")) == set(MODEL_INPUTS["purpose"])
