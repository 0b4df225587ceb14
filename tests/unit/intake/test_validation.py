"""validate_event: a valid payload gives its contract model; anything else is an InvalidEvent
that names each broken field with a readable reason (ForbiddenData for CVV, track, PIN)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from riskloop.errors import FieldError, ForbiddenData, InvalidEvent
from riskloop.intake import validate_event
from riskloop.intake.contracts import (
    AccountChange,
    CardPayment,
    Dispute,
    KycRecord,
    LedgerEntry,
    Login,
    Transfer,
)
from riskloop.intake.validation import path_of, strip_forbidden
from tests.unit.factories import (
    AMEX_PAN,
    EMAIL,
    FACTORIES,
    IBAN,
    VISA_PAN,
    account_change,
    card_payment,
    dispute,
    kyc_record,
    ledger_entry,
    login,
    transfer,
    without,
)

Factory = Callable[..., dict[str, Any]]


def _invalid(payload: object) -> InvalidEvent:
    with pytest.raises(InvalidEvent) as info:
        validate_event(payload)
    return info.value


def _error_at(payload: object, field: str) -> FieldError:
    exc = _invalid(payload)
    by_field = {e.field: e for e in exc.errors}
    assert field in by_field, f"no error at {field!r}: {exc.errors}"
    return by_field[field]


# --- good paths -------------------------------------------------------------------------------


def test_factories_give_unique_event_ids() -> None:
    ids = {factory()["event_id"] for factory in FACTORIES.values() for _ in range(3)}
    assert len(ids) == 3 * len(FACTORIES)


def test_accepts_card_payment_with_a_raw_pan() -> None:
    payload = card_payment(card={"pan": "4111 1111-1111 1111", "holder_name": " Ada "})
    event = validate_event(payload)
    assert isinstance(event, CardPayment)
    assert event.event_id == payload["event_id"]
    assert event.schema_version == 1
    assert event.occurred_at == datetime(2026, 11, 1, 11, 0, tzinfo=UTC)
    assert event.card.pan == VISA_PAN  # separators stripped
    assert event.card.holder_name == "Ada"  # whitespace stripped
    assert event.kind == "authorization"
    assert event.amount == 4599
    assert event.merchant.mcc == "5411"
    assert event.email == EMAIL
    assert str(event.ip) == "203.0.113.7"


def test_accepts_card_payment_with_a_client_token_bin_and_last4() -> None:
    event = validate_event(
        card_payment(card={"token": "tok-client-1", "bin": "41111111", "last4": "1111"})
    )
    assert isinstance(event, CardPayment)
    assert (event.card.token, event.card.bin, event.card.last4) == (
        "tok-client-1",
        "41111111",
        "1111",
    )
    assert event.card.pan is None


def test_accepts_a_15_digit_amex_pan() -> None:
    event = validate_event(card_payment(card={"pan": AMEX_PAN}))
    assert isinstance(event, CardPayment)
    assert event.card.pan == AMEX_PAN


def test_accepts_transfer() -> None:
    event = validate_event(transfer())
    assert isinstance(event, Transfer)
    assert event.rail == "sepa_instant"
    assert event.direction == "outbound"
    assert event.payee.iban == IBAN
    assert event.amount == 250000


def test_accepts_login() -> None:
    event = validate_event(login())
    assert isinstance(event, Login)
    assert event.success is False
    assert event.failure_reason == "bad_password"
    assert event.device.id == "dev-1"
    assert str(event.ip) == "2001:db8::1"


def test_accepts_account_change() -> None:
    event = validate_event(account_change())
    assert isinstance(event, AccountChange)
    assert (event.change, event.new_email) == ("email", EMAIL)


def test_accepts_account_change_that_needs_no_new_value() -> None:
    event = validate_event(without(account_change(change="password"), "new_email"))
    assert isinstance(event, AccountChange)
    assert event.change == "password"


def test_accepts_kyc_record() -> None:
    event = validate_event(kyc_record())
    assert isinstance(event, KycRecord)
    assert event.person is not None
    assert event.person.last_name == "Lovelace"
    assert event.person.date_of_birth is not None
    assert event.person.date_of_birth.isoformat() == "1815-12-10"
    assert event.person.document is not None
    assert event.person.document.issuing_country == "GB"
    assert event.business is None


def test_accepts_kyb_record_for_a_business() -> None:
    payload = without(kyc_record(subject="business"), "person")
    payload["business"] = {"legal_name": "Acme Ltd", "registration_number": "0123", "country": "GB"}
    event = validate_event(payload)
    assert isinstance(event, KycRecord)
    assert event.business is not None
    assert event.business.legal_name == "Acme Ltd"


def test_accepts_dispute() -> None:
    event = validate_event(dispute())
    assert isinstance(event, Dispute)
    assert (event.network, event.reason_code, event.stage) == ("visa", "10.4", "chargeback")


def test_accepts_ledger_entry_with_a_negative_balance() -> None:
    event = validate_event(ledger_entry())
    assert isinstance(event, LedgerEntry)
    assert event.entry == "debit"
    assert event.balance_after == -1200


def test_normalises_lower_case_currency_and_country() -> None:
    payload = card_payment(currency="eur", merchant={"id": "m-1", "mcc": "5411", "country": "de"})
    event = validate_event(payload)
    assert isinstance(event, CardPayment)
    assert (event.currency, event.merchant.country) == ("EUR", "DE")


def test_accepts_the_latest_schema_version_explicitly() -> None:
    assert validate_event(login(schema_version=1)).schema_version == 1


def test_accepts_scalar_metadata() -> None:
    meta = {"order-ref": "A-17", "items": 3, "score": 0.5, "gift": True}
    event = validate_event(ledger_entry(metadata=meta))
    assert event.metadata == meta


def test_a_validated_event_is_immutable() -> None:
    event = validate_event(ledger_entry())
    with pytest.raises(ValueError, match="frozen"):
        event.amount = 1  # type: ignore[misc]


# --- bad input --------------------------------------------------------------------------------


def test_rejects_a_payload_that_is_not_an_object() -> None:
    exc = _invalid([card_payment()])
    assert exc.errors == [FieldError("", "expected a JSON object")]


@pytest.mark.parametrize(
    ("factory", "field"),
    [
        (card_payment, "event_id"),
        (card_payment, "occurred_at"),
        (card_payment, "merchant"),
        (card_payment, "card"),
        (card_payment, "channel"),
        (card_payment, "amount"),
        (transfer, "payee"),
        (transfer, "rail"),
        (login, "device"),
        (login, "ip"),
        (account_change, "customer_id"),
        (kyc_record, "verification_status"),
        (dispute, "reason_code"),
        (ledger_entry, "currency"),
    ],
)
def test_rejects_missing_required_field(factory: Factory, field: str) -> None:
    error = _error_at(without(factory(), field), field)
    assert error.reason == "required"


def test_rejects_missing_nested_required_field() -> None:
    payload = card_payment(merchant={"id": "m-1", "country": "DE"})
    assert _error_at(payload, "merchant.mcc").reason == "required"


def test_reports_every_broken_field_at_once() -> None:
    payload = without(card_payment(currency="XYZ", amount=-5), "channel")
    fields = {e.field for e in _invalid(payload).errors}
    assert fields == {"currency", "amount", "channel"}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (card_payment(colour="red"), "colour"),
        (card_payment(card={"pan": VISA_PAN, "expiry": "12/29"}), "card.expiry"),
        (transfer(payee={"iban": IBAN, "nickname": "landlord"}), "payee.nickname"),
        (kyc_record(person={"first_name": "A", "last_name": "L", "ssn": "x"}), "person.ssn"),
    ],
)
def test_rejects_unknown_field(payload: dict[str, Any], field: str) -> None:
    assert _error_at(payload, field).reason == "unknown field"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (card_payment(occurred_at="2026-11-01T12:00:00"), "occurred_at"),
        (
            kyc_record(document_check={"result": "pass", "checked_at": "2026-11-01T08:00:00"}),
            "document_check.checked_at",
        ),
    ],
)
def test_rejects_naive_timestamp(payload: dict[str, Any], field: str) -> None:
    assert "timezone" in _error_at(payload, field).reason


def test_rejects_a_timestamp_that_is_not_a_date() -> None:
    assert "datetime" in _error_at(card_payment(occurred_at="yesterday"), "occurred_at").reason


@pytest.mark.parametrize(
    ("currency", "reason"),
    [
        ("XYZ", "not an ISO 4217 currency code"),
        ("EURO", "should match pattern"),
        ("E1R", "should match pattern"),
        ("", "should match pattern"),
    ],
)
def test_rejects_bad_currency(currency: str, reason: str) -> None:
    assert reason in _error_at(transfer(currency=currency), "currency").reason


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (card_payment(merchant={"id": "m-1", "mcc": "5411", "country": "UK"}), "merchant.country"),
        (card_payment(card={"pan": VISA_PAN, "country": "XX"}), "card.country"),
        (transfer(payee={"iban": IBAN, "bank_country": "ZZ"}), "payee.bank_country"),
        (login(geo={"lat": 1.0, "lon": 2.0, "country": "QQ"}), "geo.country"),
    ],
)
def test_rejects_bad_country(payload: dict[str, Any], field: str) -> None:
    assert "not an ISO 3166-1 alpha-2 country code" in _error_at(payload, field).reason


def test_rejects_a_three_letter_country() -> None:
    payload = card_payment(merchant={"id": "m-1", "mcc": "5411", "country": "DEU"})
    assert "should match pattern" in _error_at(payload, "merchant.country").reason


@pytest.mark.parametrize(
    ("amount", "reason"),
    [
        (12.5, "fractional part"),
        ("12.50", "unable to parse string as an integer"),
        ("forty", "unable to parse string as an integer"),
        (None, "valid integer"),
        ([4599], "valid integer"),
        ({"value": 4599}, "valid integer"),
    ],
)
def test_rejects_non_integer_amount(amount: object, reason: str) -> None:
    assert reason in _error_at(card_payment(amount=amount), "amount").reason


@pytest.mark.parametrize("factory", [card_payment, transfer, dispute, ledger_entry])
def test_rejects_negative_amount(factory: Factory) -> None:
    assert "greater than or equal to 0" in _error_at(factory(amount=-1), "amount").reason


def test_rejects_amount_above_the_limit() -> None:
    assert "less than or equal to" in _error_at(transfer(amount=10**15 + 1), "amount").reason


def test_rejects_a_boolean_amount() -> None:
    _error_at(card_payment(amount=True), "amount")


@pytest.mark.parametrize("pan", ["4111111111111112", "5555555555554445", "378282246310006"])
def test_rejects_pan_that_fails_luhn(pan: str) -> None:
    error = _error_at(card_payment(card={"pan": pan}), "card.pan")
    assert error.reason == "card number fails the Luhn check"
    assert pan not in error.reason


@pytest.mark.parametrize("pan", ["41111111111", "41111111111111111111", "4111-abcd-1111-1111"])
def test_rejects_pan_of_the_wrong_shape(pan: str) -> None:
    assert "should match pattern" in _error_at(card_payment(card={"pan": pan}), "card.pan").reason


def test_rejects_card_with_both_pan_and_token() -> None:
    error = _error_at(card_payment(card={"pan": VISA_PAN, "token": "tok-1"}), "card")
    assert error.reason == "give exactly one of pan or token"


def test_rejects_card_with_neither_pan_nor_token() -> None:
    error = _error_at(card_payment(card={"country": "DE"}), "card")
    assert error.reason == "give exactly one of pan or token"


@pytest.mark.parametrize("extra", [{"bin": "411111"}, {"last4": "1111"}])
def test_rejects_bin_or_last4_sent_with_pan(extra: dict[str, str]) -> None:
    error = _error_at(card_payment(card={"pan": VISA_PAN, **extra}), "card")
    assert "derived from pan" in error.reason


@pytest.mark.parametrize("event_type", ["wire", "CARD_PAYMENT", "", 7, None])
def test_rejects_unknown_event_type(event_type: object) -> None:
    exc = _invalid(card_payment(event_type=event_type))
    assert exc.field == "event_type"
    expected = "required" if event_type is None else "unknown event type"
    assert exc.reason.startswith(expected)
    assert "card_payment" in exc.reason  # lists the known types


def test_rejects_payload_without_event_type() -> None:
    exc = _invalid(without(login(), "event_type"))
    assert exc.errors[0].field == "event_type"
    assert exc.reason.startswith("required; one of account_change, card_payment")


@pytest.mark.parametrize("version", [2, 0, "1", 1.0, True])
def test_rejects_unknown_schema_version(version: object) -> None:
    exc = _invalid(card_payment(schema_version=version))
    assert exc.errors == [
        FieldError("schema_version", "unknown version for card_payment; known: [1]")
    ]


@pytest.mark.parametrize(
    ("change", "needed"),
    [
        ("email", "new_email"),
        ("phone", "new_phone"),
        ("address", "new_address"),
        ("name", "new_name"),
        ("payee_added", "payee"),
    ],
)
def test_rejects_account_change_without_its_new_value(change: str, needed: str) -> None:
    exc = _invalid(without(account_change(change=change), "new_email"))
    assert exc.reason == f"change {change!r} needs {needed}"


def test_account_change_without_its_new_value_names_the_missing_field() -> None:
    exc = _invalid(without(account_change(change="email"), "new_email"))
    assert exc.field == "new_email"


@pytest.mark.parametrize("person", [None, "absent"])
def test_rejects_kyc_person_record_without_person_object(person: str | None) -> None:
    payload = kyc_record(person=person) if person is None else without(kyc_record(), "person")
    exc = _invalid(payload)
    assert exc.reason == "subject 'person' needs the person object"


def test_rejects_kyb_record_without_business_object() -> None:
    exc = _invalid(kyc_record(subject="business"))  # has a person, but no business
    assert exc.reason == "subject 'business' needs the business object"


def test_kyc_person_record_without_person_object_names_the_missing_field() -> None:
    assert _invalid(without(kyc_record(), "person")).field == "person"


@pytest.mark.parametrize(
    ("network", "code"),
    [("visa", "10.4"), ("visa", "13.1"), ("mastercard", "4837"), ("amex", "F29"), ("other", "x")],
)
def test_accepts_reason_code_in_the_network_shape(network: str, code: str) -> None:
    event = validate_event(dispute(network=network, reason_code=code))
    assert isinstance(event, Dispute)
    assert event.reason_code == code


@pytest.mark.parametrize(
    ("network", "code", "reason"),
    [
        ("visa", "4837", "Visa reason codes look like 10.4"),
        ("visa", "10.455", "Visa reason codes look like 10.4"),
        ("mastercard", "10.4", "Mastercard reason codes look like 4837"),
        ("mastercard", "483", "Mastercard reason codes look like 4837"),
    ],
)
def test_rejects_reason_code_in_the_wrong_network_shape(
    network: str, code: str, reason: str
) -> None:
    exc = _invalid(dispute(network=network, reason_code=code))
    assert exc.errors == [FieldError("reason_code", reason)]


@pytest.mark.parametrize("factory", [transfer, account_change])
def test_rejects_payee_with_no_identifier(factory: Factory) -> None:
    payload = factory(payee={"name": "Charles Babbage", "bank_country": "DE"})
    if factory is account_change:
        payload["change"] = "payee_added"
    error = _error_at(payload, "payee")
    assert error.reason == "give at least one of id, account_number, iban or wallet_id"


@pytest.mark.parametrize(
    "payee", [{"id": "p-1"}, {"account_number": "12345678"}, {"wallet_id": "w-1"}]
)
def test_accepts_payee_with_any_one_identifier(payee: dict[str, str]) -> None:
    event = validate_event(transfer(payee=payee))
    assert isinstance(event, Transfer)
    assert event.payee.model_dump(exclude_none=True) == payee


@pytest.mark.parametrize("value", [[1, 2], {"b": 1}, None])
def test_rejects_metadata_with_a_non_scalar_value(value: object) -> None:
    error = _error_at(card_payment(metadata={"a": value}), "metadata.a")
    assert "valid string" in error.reason
    assert "valid integer" in error.reason


def test_rejects_metadata_key_of_the_wrong_shape() -> None:
    exc = _invalid(card_payment(metadata={"a b": "x"}))
    assert exc.field == "metadata.a b"
    assert "should match pattern" in exc.reason


def test_rejects_metadata_with_more_than_32_keys() -> None:
    payload = card_payment(metadata={f"k{i}": i for i in range(33)})
    assert "at most 32" in _error_at(payload, "metadata").reason


@pytest.mark.parametrize("key", ["order-ref", "int"])
def test_metadata_error_names_a_key_with_a_dash_or_type_name(key: str) -> None:
    exc = _invalid(card_payment(metadata={key: [1]}))
    assert exc.field == f"metadata.{key}"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (card_payment(card={"pan": VISA_PAN, "cvv": "123"}), "card.cvv"),
        (card_payment(card={"pan": VISA_PAN, "CVC2": "123"}), "card.CVC2"),
        (card_payment(track2="4111111111111111=2912"), "track2"),
        (card_payment(metadata={"pin": "1234"}), "metadata.pin"),
        (
            kyc_record(document_check={"result": "pass", "reasons": [{"pin_block": "x"}]}),
            "document_check.reasons[0].pin_block",
        ),
    ],
)
def test_refuses_sensitive_authentication_data_anywhere(
    payload: dict[str, Any], field: str
) -> None:
    with pytest.raises(ForbiddenData) as info:
        validate_event(payload)
    assert [e.field for e in info.value.errors] == [field]
    assert "must never be sent" in info.value.reason
    assert "123" not in str(info.value)


def test_forbidden_data_is_an_invalid_event_and_is_checked_before_the_contract() -> None:
    with pytest.raises(InvalidEvent) as info:
        validate_event({"event_type": "wire", "cvv": "123"})
    assert isinstance(info.value, ForbiddenData)
    assert info.value.field == "cvv"


def test_strip_forbidden_removes_sensitive_keys_at_every_depth() -> None:
    raw = {"card": {"pan": VISA_PAN, "CVV": "123"}, "x": [{"pin": "1"}, 2], "track": "t"}
    assert strip_forbidden(raw) == {"card": {"pan": VISA_PAN}, "x": [{}, 2]}


def test_error_reasons_never_echo_the_input_value() -> None:
    exc = _invalid(card_payment(currency="ada.lovelace@example.com", amount="secret-4599"))
    assert "ada.lovelace" not in str(exc)
    assert "secret-4599" not in str(exc)


def test_an_error_in_a_list_item_names_its_index() -> None:
    payload = kyc_record(document_check={"result": "pass", "reasons": ["ok", ""]})
    assert "at least 1 character" in _error_at(payload, "document_check.reasons[1]").reason


def test_prefixed_puts_the_batch_index_in_front_of_each_path() -> None:
    exc = _invalid(without(card_payment(currency="XYZ"), "channel")).prefixed("events[3]")
    assert {e.field for e in exc.errors} == {"events[3].currency", "events[3].channel"}


@pytest.mark.parametrize(
    ("loc", "path"),
    [
        (("payee", "name"), "payee.name"),
        (("document_check", "reasons", 2), "document_check.reasons[2]"),
        (("metadata", "a", "constrained-str"), "metadata.a"),
        (("metadata", "a", "int"), "metadata.a"),
        ((), ""),
    ],
)
def test_path_of_renders_a_pydantic_location(loc: tuple[str | int, ...], path: str) -> None:
    assert path_of(loc) == path


def test_timestamps_keep_their_offset() -> None:
    event = validate_event(login(occurred_at="2026-11-01T12:00:00-05:00"))
    assert event.occurred_at.utcoffset() == timedelta(hours=-5)
