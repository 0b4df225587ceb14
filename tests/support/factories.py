"""Factories for valid events with unique ids, carrying real-looking PANs and PII."""

from __future__ import annotations

import itertools
from typing import Any

_ids = itertools.count(1)

# Test PANs from the networks' published test ranges (all pass Luhn).
PANS = ["4111111111111111", "5555555555554444", "378282246310005", "4012888888881881"]
EMAIL = "ada.lovelace@example.com"
HOLDER = "Ada Lovelace"
IBAN = "DE89370400440532013000"


def next_id(prefix: str = "evt") -> str:
    return f"{prefix}-{next(_ids):08d}"


def card_payment(**overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": next_id(),
        "event_type": "card_payment",
        "occurred_at": "2026-11-01T12:00:00+01:00",
        "customer_id": "cus-1",
        "amount": 4599,
        "currency": "EUR",
        "merchant": {"id": "m-1", "mcc": "5411", "country": "DE", "terminal_id": "t-9"},
        "card": {"pan": PANS[0], "holder_name": HOLDER, "country": "DE"},
        "channel": "card_not_present",
        "email": EMAIL,
        "ip": "203.0.113.7",
        "geo": {"lat": 52.52, "lon": 13.405, "country": "DE"},
    }
    event.update(overrides)
    return event


def transfer(**overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": next_id(),
        "event_type": "transfer",
        "occurred_at": "2026-11-01T12:05:00Z",
        "rail": "sepa_instant",
        "account_id": "acc-1",
        "amount": 250000,
        "currency": "EUR",
        "payee": {"name": "Charles Babbage", "iban": IBAN, "bank_country": "DE"},
        "reference": "rent november",
    }
    event.update(overrides)
    return event


def kyc_record(**overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": next_id(),
        "event_type": "kyc_record",
        "occurred_at": "2026-11-01T09:00:00Z",
        "customer_id": "cus-1",
        "subject": "person",
        "person": {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "date_of_birth": "1815-12-10",
            "email": EMAIL,
            "phone": "+44 20 7946 0958",
            "address": {"line1": "12 St James's Square", "city": "London", "country": "GB"},
            "document": {"type": "passport", "number": "X1234567Q", "issuing_country": "GB"},
        },
        "verification_status": "verified",
        "document_check": {"result": "pass", "provider": "acme-idv"},
    }
    event.update(overrides)
    return event


def credit_application(**overrides: Any) -> dict[str, Any]:
    """A loan application by the KYC record's person (the same PII, for the at-rest scan)."""
    person = kyc_record()["person"]
    event: dict[str, Any] = {
        "event_id": next_id(),
        "event_type": "credit_application",
        "occurred_at": "2026-11-01T09:30:00Z",
        "customer_id": "cus-1",
        "product": "loan",
        "applicant": person,
        "requested_amount": 500_000,
        "currency": "GBP",
        "term_months": 24,
        "purpose": "repairs",
        "monthly_income": 300_000,
        "housing": "own",
        "employment": {"status": "employed", "months_in_job": 40, "level": "skilled"},
        "bureau": {"credit_history": "paid_duly"},
    }
    event.update(overrides)
    return event
