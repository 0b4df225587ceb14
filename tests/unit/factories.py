"""Valid payloads for every event type, each call with a fresh ``event_id``.

Each factory takes keyword overrides for top-level fields; ``without`` drops one.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

_ids = itertools.count(1)

# From the networks' published test ranges: all pass Luhn.
VISA_PAN = "4111111111111111"
MASTERCARD_PAN = "5555555555554444"
AMEX_PAN = "378282246310005"
EMAIL = "ada.lovelace@example.com"
HOLDER = "Ada Lovelace"
IBAN = "DE89370400440532013000"
PHONE = "+44 20 7946 0958"


def next_id(prefix: str = "evt") -> str:
    return f"{prefix}-unit-{next(_ids):08d}"


def _event(event_type: str, body: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    event = {
        "event_id": next_id(),
        "event_type": event_type,
        "occurred_at": "2026-11-01T12:00:00+01:00",
        **body,
    }
    event.update(overrides)
    return event


def card_payment(**overrides: Any) -> dict[str, Any]:
    return _event(
        "card_payment",
        {
            "customer_id": "cus-1",
            "amount": 4599,
            "currency": "EUR",
            "merchant": {"id": "m-1", "mcc": "5411", "country": "DE", "terminal_id": "t-9"},
            "card": {"pan": VISA_PAN, "holder_name": HOLDER, "country": "DE"},
            "channel": "card_not_present",
            "email": EMAIL,
            "ip": "203.0.113.7",
            "geo": {"lat": 52.52, "lon": 13.405, "country": "DE"},
        },
        overrides,
    )


def transfer(**overrides: Any) -> dict[str, Any]:
    return _event(
        "transfer",
        {
            "rail": "sepa_instant",
            "account_id": "acc-1",
            "amount": 250000,
            "currency": "EUR",
            "payee": {"name": "Charles Babbage", "iban": IBAN, "bank_country": "DE"},
            "reference": "rent november",
        },
        overrides,
    )


def login(**overrides: Any) -> dict[str, Any]:
    return _event(
        "login",
        {
            "customer_id": "cus-1",
            "success": False,
            "failure_reason": "bad_password",
            "mfa": "not_required",
            "device": {"id": "dev-1", "user_agent": "Mozilla/5.0"},
            "ip": "2001:db8::1",
        },
        overrides,
    )


def account_change(**overrides: Any) -> dict[str, Any]:
    return _event(
        "account_change",
        {"customer_id": "cus-1", "change": "email", "new_email": EMAIL},
        overrides,
    )


def challenge_result(**overrides: Any) -> dict[str, Any]:
    return _event(
        "challenge_result",
        {
            "customer_id": "cus-1",
            "challenged_event_id": "evt-challenged",
            "method": "mfa",
            "mfa_method": "totp",
            "result": "failed",
            "device": {"id": "dev-1"},
            "ip": "203.0.113.7",
        },
        overrides,
    )


def kyc_record(**overrides: Any) -> dict[str, Any]:
    return _event(
        "kyc_record",
        {
            "customer_id": "cus-1",
            "subject": "person",
            "person": {
                "first_name": "Ada",
                "last_name": "Lovelace",
                "date_of_birth": "1815-12-10",
                "email": EMAIL,
                "phone": PHONE,
                "address": {"line1": "12 St James's Square", "city": "London", "country": "GB"},
                "document": {"type": "passport", "number": "X1234567Q", "issuing_country": "GB"},
            },
            "verification_status": "verified",
            "document_check": {"result": "pass", "provider": "acme-idv"},
        },
        overrides,
    )


def dispute(**overrides: Any) -> dict[str, Any]:
    return _event(
        "dispute",
        {
            "original_event_id": "evt-original",
            "stage": "chargeback",
            "network": "visa",
            "reason_code": "10.4",
            "amount": 4599,
            "currency": "EUR",
            "card": {"token": "client-tok-1", "bin": "411111", "last4": "1111"},
        },
        overrides,
    )


def ledger_entry(**overrides: Any) -> dict[str, Any]:
    return _event(
        "ledger_entry",
        {
            "account_id": "acc-1",
            "entry": "debit",
            "amount": 4599,
            "currency": "EUR",
            "balance_after": -1200,
            "description": "card purchase",
        },
        overrides,
    )


FACTORIES: dict[str, Callable[..., dict[str, Any]]] = {
    "card_payment": card_payment,
    "transfer": transfer,
    "login": login,
    "account_change": account_change,
    "challenge_result": challenge_result,
    "kyc_record": kyc_record,
    "dispute": dispute,
    "ledger_entry": ledger_entry,
}


def without(event: dict[str, Any], field: str) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k != field}
