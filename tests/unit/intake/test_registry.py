"""The contract catalogue: one spec per event type with owner, version and retention, and a
JSON Schema for producers that is itself valid draft 2020-12."""

from __future__ import annotations

import pytest

from riskloop.intake import CONTRACTS, EVENT_TYPES, ContractSpec, json_schema, latest
from riskloop.intake.contracts import CardPayment

ALL_TYPES = (
    "account_change",
    "card_payment",
    "challenge_result",
    "credit_application",
    "dispute",
    "kyc_record",
    "label",
    "ledger_entry",
    "login",
    "transfer",
)
SPECS = list(CONTRACTS.values())


def test_the_catalogue_has_the_ten_event_types_sorted() -> None:
    assert EVENT_TYPES == ALL_TYPES
    assert sorted(CONTRACTS) == [(t, 1) for t in ALL_TYPES]


@pytest.mark.parametrize(
    ("event_type", "owner", "retention_days"),
    [
        ("card_payment", "payments-risk", 2555),
        ("transfer", "payments-risk", 2555),
        ("login", "identity-risk", 365),
        ("account_change", "identity-risk", 1825),
        ("challenge_result", "identity-risk", 2555),
        ("kyc_record", "compliance", 1825),
        ("dispute", "payments-risk", 2555),
        ("ledger_entry", "finance", 2555),
    ],
)
def test_each_contract_has_its_owner_and_retention(
    event_type: str, owner: str, retention_days: int
) -> None:
    spec = latest(event_type)
    assert (spec.event_type, spec.version) == (event_type, 1)
    assert (spec.owner, spec.retention_days) == (owner, retention_days)
    assert spec.id == f"{event_type}/v1"
    assert spec.description  # the first line of the model docstring


def test_spec_description_is_the_first_docstring_line() -> None:
    assert latest("card_payment").model is CardPayment
    assert latest("card_payment").description == (
        "A card authorization, capture, refund or reversal, as a processor feed sends it."
    )


def test_latest_of_an_unknown_type_raises_key_error() -> None:
    with pytest.raises(KeyError):
        latest("wire")


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.id)
def test_json_schema_carries_the_catalogue_extensions(spec: ContractSpec) -> None:
    schema = json_schema(spec)
    assert schema["x-owner"] == spec.owner
    assert schema["x-version"] == spec.version
    assert schema["x-retention-days"] == spec.retention_days
    assert schema["x-unknown-fields"] == "reject"
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"riskloop:contracts/{spec.id}"
    assert schema["title"] == spec.id
    assert schema["additionalProperties"] is False
    assert {"event_id", "event_type", "occurred_at"} <= set(schema["required"])
    assert schema["properties"]["event_type"]["const"] == spec.event_type


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.id)
def test_json_schema_is_a_valid_draft_2020_12_schema(spec: ContractSpec) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator.check_schema(json_schema(spec))


def test_json_schema_accepts_a_valid_event_and_rejects_an_unknown_field() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(json_schema(latest("ledger_entry")))
    event = {
        "event_id": "evt-1",
        "event_type": "ledger_entry",
        "occurred_at": "2026-11-01T12:00:00Z",
        "account_id": "acc-1",
        "entry": "credit",
        "amount": 100,
        "currency": "EUR",
    }
    assert list(validator.iter_errors(event)) == []
    assert [e.validator for e in validator.iter_errors({**event, "colour": "red"})] == [
        "additionalProperties"
    ]


def test_json_schema_does_not_change_between_calls() -> None:
    spec = latest("transfer")
    assert json_schema(spec) == json_schema(spec)
