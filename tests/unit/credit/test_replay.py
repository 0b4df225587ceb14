"""Real applicants as events: every German credit applicant, turned back into a
``credit_application``, validates against the contract and derives the inputs the model
was trained on (but the one the module says cannot round trip), so a served decision
scores what the model card measured."""

from __future__ import annotations

from typing import Any

from riskloop.adapters.credit_scorer import load_credit_scorer
from riskloop.credit.inputs import MODEL_INPUTS, application_inputs
from riskloop.intake.registry import latest
from riskloop.training.credit_replay import application_event
from riskloop.training.credit_train import CreditTraining
from tests.unit.credit.conftest import Applications


def _inputs(event: dict[str, Any]) -> dict[str, Any]:
    model = latest("credit_application").model
    return application_inputs(model.model_validate(event).model_dump(mode="json"))


def test_every_applicant_round_trips_through_the_contract(applications: Applications) -> None:
    table = applications.table
    unmatched = 0
    for row in range(len(table)):
        applicant = table.applicant(row)
        event = application_event(
            applicant, event_id=f"g-{row}", occurred_at="2026-11-28T10:00:00Z"
        )
        derived = _inputs(event)
        for name in MODEL_INPUTS:
            if (
                name == "job_level"
                and applicant[name] == "unskilled_nonresident"
                and (applicant["employment_length"] != "unemployed")
            ):
                unmatched += derived[name] != applicant[name]
                continue
            assert derived[name] == applicant[name], (row, name, derived[name], applicant[name])
    assert unmatched == 6, unmatched  # the employed "non-residents" of the data


def test_the_served_pd_is_the_models_for_a_replayed_applicant(
    applications: Applications, trained: dict[str, CreditTraining]
) -> None:
    run = trained["lightgbm"]
    scorer = load_credit_scorer(run.kind, run.artifact, name="credit@1")
    for row in range(40):
        applicant = applications.test.applicant(row)
        if applicant["job_level"] == "unskilled_nonresident":
            continue
        event = application_event(applicant, event_id="g", occurred_at="2026-11-28T10:00:00Z")
        served = scorer.score(_inputs(event)).value
        assert abs(served - scorer.score(applicant).value) < 1e-12
