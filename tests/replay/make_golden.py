"""The golden stream, written out as code so each event says why it is there. Run it to
rewrite ``golden_events.ndjson`` after changing it; ``expected.ndjson`` is kept by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

VISA, MC, AMEX, VISA2 = (
    "4111111111111111",
    "5555555555554444",
    "378282246310005",
    "4012888888881881",
)
BERLIN = {"lat": 52.52, "lon": 13.405, "country": "DE"}
NEW_YORK = {"lat": 40.71, "lon": -74.01, "country": "US"}


def pay(n: int, minute: int, **extra: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": f"g{n:02d}",
        "event_type": "card_payment",
        "occurred_at": f"2026-11-02T10:{minute:02d}:00Z",
        "customer_id": "cus-1",
        "amount": 4599,
        "currency": "EUR",
        "merchant": {"id": "m-1", "mcc": "5411", "country": "DE"},
        "card": {"pan": VISA, "country": "DE"},
        "channel": "card_not_present",
        "ip": "192.0.2.10",
        "geo": BERLIN,
    }
    event.update(extra)
    return event


def login(n: int, minute: int, **extra: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": f"g{n:02d}",
        "event_type": "login",
        "occurred_at": f"2026-11-02T11:{minute:02d}:00Z",
        "customer_id": "cus-7",
        "success": True,
        "device": {"id": "dev-7a"},
        "ip": "192.0.2.70",
    }
    event.update(extra)
    return event


def stream() -> list[dict[str, Any]]:
    small_declined = {
        "amount": 100,
        "auth_result": "declined",
        "card": {"pan": MC, "country": "DE"},
    }
    return [
        pay(1, 0),  # an ordinary payment: approve
        pay(2, 1, device={"id": "dev-bad"}),  # blocked device: decline
        pay(3, 2, **small_declined),  # card testing builds up on the Mastercard...
        pay(4, 3, **small_declined),
        pay(5, 4, **small_declined),
        pay(6, 5, **small_declined),  # ...the fourth sees three: decline CARD_TESTING
        # A large payment, card not present, on a card never seen, issued abroad: challenge
        # for two reasons.
        pay(7, 6, amount=150000, card={"pan": AMEX, "country": "US"}),
        # The same customer passes 3-D Secure and retries: challenge rules are answered.
        pay(8, 7, amount=150000, card={"pan": AMEX, "country": "US"}, three_ds="authenticated"),
        # A trusted customer on a blocked device: allow overrides the block.
        pay(9, 8, customer_id="cus-vip", device={"id": "dev-bad"}),
        # A merchant in a sanctioned country: decline.
        pay(10, 9, merchant={"id": "m-kp", "mcc": "5999", "country": "KP"}),
        # From a watched IP range: approve, tagged.
        pay(11, 10, ip="198.51.100.7"),
        # Card present in Berlin, then in New York ten minutes later: review.
        pay(12, 11, channel="card_present", card={"pan": VISA2, "country": "DE"}),
        pay(13, 21, channel="card_present", card={"pan": VISA2, "country": "DE"}, geo=NEW_YORK),
        # Account takeover: logins from two devices, then a large transfer (the first to
        # that payee, a second challenge reason): challenge.
        login(14, 0),
        login(15, 1, device={"id": "dev-7b"}, ip="203.0.113.99"),
        {
            "event_id": "g16",
            "event_type": "transfer",
            "occurred_at": "2026-11-02T11:02:00Z",
            "rail": "sepa_instant",
            "customer_id": "cus-7",
            "account_id": "acc-7",
            "amount": 250000,
            "currency": "EUR",
            "payee": {"iban": "DE89370400440532013000", "bank_country": "DE"},
        },
        # Five failed logins, then a sixth attempt: challenge.
        *[
            login(17 + i, 10 + i, customer_id="cus-8", success=False, failure_reason="bad_password")
            for i in range(5)
        ],
        login(22, 15, customer_id="cus-8", success=True),
        # Card testing goes on; by g25 the model agrees (score past 0.6): its reasons follow.
        pay(24, 6, **small_declined),
        pay(25, 7, **small_declined),
        pay(1, 0),  # g01 again (a client retry): the same decision, counted once
        # A dispute is a label, not something decided on by a policy: approve, NO_POLICY.
        {
            "event_id": "g23",
            "event_type": "dispute",
            "occurred_at": "2026-11-02T12:00:00Z",
            "original_event_id": "g07",
            "stage": "chargeback",
            "network": "amex",
            "card": {"pan": AMEX},
            "reason_code": "F29",
            "amount": 150000,
            "currency": "EUR",
        },
    ]


if __name__ == "__main__":
    path = Path(__file__).with_name("golden_events.ndjson")
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in stream()))
