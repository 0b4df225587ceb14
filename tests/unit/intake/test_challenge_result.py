"""The ``challenge_result`` contract (how a step-up a decision asked for ended) and the
step-up evidence (``mfa``) that transfers, account changes and card payments now carry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from riskloop.errors import InvalidEvent
from riskloop.intake import EventBase, json_schema, latest, validate_event
from riskloop.intake.contracts import AccountChange, CardPayment, ChallengeResult, Transfer
from riskloop.rules.schema import event_fields
from tests.unit.factories import (
    account_change,
    card_payment,
    challenge_result,
    transfer,
    without,
)

Factory = Callable[..., dict[str, Any]]


def _errors(payload: object) -> dict[str, str]:
    with pytest.raises(InvalidEvent) as info:
        validate_event(payload)
    return {e.field: e.reason for e in info.value.errors}


def test_accepts_a_failed_mfa_challenge_result() -> None:
    payload = challenge_result(decision_id="dec_0001", account_id="acc-1")
    event = validate_event(payload)
    assert isinstance(event, ChallengeResult)
    assert (event.challenged_event_id, event.method, event.result) == (
        "evt-challenged",
        "mfa",
        "failed",
    )
    assert event.mfa_method == "totp" and event.decision_id == "dec_0001"


@pytest.mark.parametrize("result", ["passed", "failed", "abandoned", "expired"])
def test_every_result_is_accepted(result: str) -> None:
    event = validate_event(challenge_result(result=result))
    assert isinstance(event, ChallengeResult) and event.result == result


def test_a_3ds_result_needs_no_mfa_method_and_no_device() -> None:
    payload = without(challenge_result(method="3ds", result="passed"), "mfa_method")
    event = validate_event(without(payload, "device"))
    assert isinstance(event, ChallengeResult) and event.method == "3ds"


@pytest.mark.parametrize(
    ("payload", "field", "reason"),
    [
        (challenge_result(result="maybe"), "result", "'passed', 'failed'"),
        (without(challenge_result(), "challenged_event_id"), "challenged_event_id", "required"),
        (without(challenge_result(), "customer_id"), "customer_id", "required"),
        (challenge_result(method="sms"), "method", "'3ds' or 'mfa'"),
        (challenge_result(method="3ds"), "mfa_method", "only for method mfa"),
        (challenge_result(event_id="cr-1", challenged_event_id="cr-1"), "challenged_event_id", ""),
        (challenge_result(challenged_event_id="bad id!"), "challenged_event_id", "pattern"),
        (challenge_result(colour="red"), "colour", "unknown field"),
    ],
)
def test_bad_challenge_results_name_the_field(
    payload: dict[str, object], field: str, reason: str
) -> None:
    errors = _errors(payload)
    assert field in errors, errors
    assert reason in errors[field]


def test_the_contract_is_in_the_catalogue_with_its_json_schema() -> None:
    spec = latest("challenge_result")
    assert spec.model is ChallengeResult
    assert (spec.owner, spec.retention_days, spec.version) == ("identity-risk", 2555, 1)
    schema = json_schema(spec)
    assert set(schema["required"]) >= {
        "event_id",
        "event_type",
        "occurred_at",
        "customer_id",
        "challenged_event_id",
        "method",
        "result",
    }
    assert "decision_id" in schema["properties"] and "decision_id" not in schema["required"]


@pytest.mark.parametrize(
    ("factory", "model"),
    [(transfer, Transfer), (account_change, AccountChange), (card_payment, CardPayment)],
)
def test_challengeable_events_carry_the_mfa_result_of_a_retry(
    factory: Factory, model: type[EventBase]
) -> None:
    event = validate_event(factory(mfa="passed", mfa_method="push"))
    assert isinstance(event, model)
    dumped = event.model_dump()
    assert (dumped["mfa"], dumped["mfa_method"]) == ("passed", "push")
    assert "mfa" in _errors(factory(mfa="yes"))


def test_rules_can_read_the_step_up_fields() -> None:
    assert event_fields("transfer")["mfa"] == "string"
    assert event_fields("account_change")["mfa"] == "string"
    fields = event_fields("challenge_result")
    assert fields["result"] == fields["challenged_event_id"] == "string"
