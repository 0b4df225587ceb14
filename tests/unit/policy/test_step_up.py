"""Step-up in policies and decision records: which method a challenge asks for (by event
type, or the policy's ``step_up_method``), that a retry carrying a passed step-up answers
challenge rules on every challengeable event type, and that the method survives the
decision record's JSON round trip (old records without it still load)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from riskloop.errors import InvalidInput
from riskloop.intake import validate_event
from riskloop.ledger.records import Decision
from riskloop.policy import Outcome, Policy, evaluate, policy_from_dict, stepped_up
from riskloop.rules.cel import Evaluation
from riskloop.rules.model import Action, Rule
from riskloop.vault import Keyring, MemoryKeyStore, Vault
from tests.unit.factories import account_change, card_payment, login, transfer

TYPES = ("card_payment", "transfer", "login", "account_change")
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _doc(**fields: Any) -> dict[str, Any]:
    return {"id": "p", "event_types": ["login"], "author": "ana", **fields}


def _errors(doc: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(InvalidInput) as info:
        policy_from_dict(doc, known_types=TYPES)
    return {e.field: e.reason for e in info.value.errors}


@pytest.mark.parametrize(
    ("event_type", "method"),
    [("card_payment", "3ds"), ("login", "mfa"), ("account_change", "mfa"), ("transfer", "mfa")],
)
def test_the_method_follows_the_event_type_unless_the_policy_names_one(
    event_type: str, method: str
) -> None:
    policy = Policy("p", TYPES)
    assert policy.step_up_for(event_type) == method
    assert policy.with_(step_up_method="mfa").step_up_for(event_type) == "mfa"


def test_a_policy_document_names_its_step_up_method() -> None:
    cards = policy_from_dict(
        _doc(event_types=["card_payment"], step_up_method="mfa"), known_types=TYPES
    )
    assert cards.step_up_method == "mfa" and cards.step_up_for("card_payment") == "mfa"
    by_type = policy_from_dict(_doc(), known_types=TYPES)
    assert by_type.step_up_method is None and by_type.step_up_for("login") == "mfa"
    three_ds = policy_from_dict(
        _doc(event_types=["card_payment"], step_up_method="3ds"), known_types=TYPES
    )
    assert three_ds.step_up_for("card_payment") == "3ds"


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"step_up_method": "sms"}, "must be 3ds, mfa or null"),
        ({"step_up_method": 3}, "must be 3ds, mfa or null"),
        ({"step_up_method": "3ds"}, "card payments only"),
        (
            {"event_types": ["card_payment", "login"], "step_up_method": "3ds"},
            "card payments only",
        ),
    ],
)
def test_a_bad_step_up_method_is_named(fields: dict[str, Any], reason: str) -> None:
    errors = _errors(_doc(**fields))
    assert reason in errors["step_up_method"]


def test_the_method_round_trips_through_the_saved_document_and_the_record() -> None:
    policy = policy_from_dict(
        _doc(event_types=["card_payment"], step_up_method="mfa"), known_types=TYPES
    )
    assert policy.as_dict()["step_up_method"] == "mfa"
    again = policy_from_dict({**policy.as_doc(), "author": "bob"}, known_types=TYPES)
    assert again.step_up_method == "mfa"
    assert policy_from_dict(_doc(), known_types=TYPES).as_doc()["step_up_method"] is None


def _protected(payload: dict[str, Any]) -> dict[str, Any]:
    """The event as the decision path reads it (after the vault)."""
    vault = Vault(Keyring.open(MemoryKeyStore()))
    return vault.protect(validate_event(payload), source="t").data


@pytest.mark.parametrize(
    ("payload", "done"),
    [
        (transfer(mfa="passed"), True),
        (account_change(mfa="passed", mfa_method="push"), True),
        (login(success=True, failure_reason=None, mfa="passed"), True),
        (card_payment(mfa="passed"), True),
        (card_payment(three_ds="authenticated"), True),
        (transfer(mfa="failed"), False),
        (account_change(mfa="skipped"), False),
        (card_payment(three_ds="attempted"), False),
        (transfer(), False),
    ],
)
def test_a_retry_carrying_a_passed_step_up_answers_challenge_rules(
    payload: dict[str, Any], done: bool
) -> None:
    data = _protected({k: v for k, v in payload.items() if v is not None})
    assert stepped_up(data) is done
    challenge = Evaluation(Rule("new_payee", "true", "NEW_PAYEE", Action.CHALLENGE), True)
    review = Evaluation(Rule("large", "true", "LARGE", Action.REVIEW), True)
    result = evaluate(Policy("p", TYPES), [challenge, review], None, [], step_up_done=done)
    assert result.outcome is (Outcome.REVIEW if done else Outcome.CHALLENGE)


def _decision(**fields: Any) -> Decision:
    return Decision(
        decision_id="dec_1",
        event_id="evt-1",
        event_type="login",
        outcome=Outcome.CHALLENGE,
        reasons=("NEW_DEVICE_FAR_AWAY",),
        decided_by="login_new_device_far",
        decided_at=T0,
        occurred_at=T0,
        policy="logins@1",
        **fields,
    )


def test_the_decision_record_keeps_the_method() -> None:
    decision = _decision(step_up="mfa")
    body = decision.as_dict()
    assert body["step_up"] == "mfa"
    assert Decision.from_dict(body) == decision
    assert _decision().as_dict()["step_up"] is None


def test_a_record_written_before_step_up_existed_still_loads() -> None:
    body = _decision(step_up="3ds").as_dict()
    del body["step_up"]
    assert Decision.from_dict(body).step_up is None
