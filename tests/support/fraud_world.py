"""A labelled world for training tests and benchmarks: customers with spending habits and
three fraud patterns a model must learn from outcomes, each with its own signal.

- **Compromised merchants**: for three weeks, stolen cards are run through a few merchants
  at ordinary amounts, from the cardholders' usual devices. Nothing in the payment looks
  wrong; only the merchant's chargebacks, arriving days later, give it away
  (``merchant_fraud_rate_7d``, ``terminal_fraud_rate_28d``).
- **Account takeover**: a customer's card spends many times its habit, card not present,
  from a new device (``card_amount_ratio_30d``, ``card_amount_zscore_30d``).
- **Card testing**: bursts of small declined attempts, then approved payments
  (``card_small_declined_count_10m``).

Legitimate customers sometimes spend big too, so no single threshold is enough. Fraud that
was approved is charged back (Visa 10.4 / Mastercard 4837) one to twelve days later, most of
the time. Deterministic for a seed; events come in arrival order.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.streams import CITIES, FRAUD_CODES, MCCS, luhn_complete

START = datetime(2026, 6, 1, tzinfo=UTC)
DAY = 86_400.0


@dataclass
class _Customer:
    id: str
    pan: str
    device: str
    city: tuple[str, float, float]
    habit: float  # log of the usual amount in cents
    email: str


@dataclass
class World:
    events: list[dict[str, Any]]  # arrival order, disputes included
    fraud: dict[str, str]  # every fraudulent payment (charged back or not) -> its pattern
    end: datetime  # the last payment


def _iso(seconds: float) -> str:
    return (START + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def generate_world(
    *, customers: int = 600, days: int = 60, per_day: float = 0.6, seed: int = 11
) -> World:
    rng = random.Random(seed)
    people = [
        _Customer(
            f"cus-{i}",
            luhn_complete(rng.choice(["411111", "555555", "400000"]), 16, rng),
            f"dev-{i}",
            rng.choice(CITIES),
            rng.gauss(7.4, 0.6),
            f"u{i}@example.com",
        )
        for i in range(customers)
    ]
    merchants = [
        (f"m-{j}", rng.choice(CITIES)[0], f"t-{j}", rng.choice(MCCS))
        for j in range(max(40, customers // 4))
    ]
    compromised = {
        m[0]: (start, start + 21 * DAY)
        for m in rng.sample(merchants, max(3, len(merchants) // 25))
        for start in [rng.uniform(5, days - 25) * DAY]
    }
    timeline: list[tuple[float, dict[str, Any]]] = []
    fraud: dict[str, str] = {}
    approved_fraud: list[tuple[dict[str, Any], float]] = []
    n = 0

    def pay(
        c: _Customer,
        t: float,
        amount: int,
        merchant: tuple[str, str, str, str],
        *,
        channel: str | None = None,
        device: str | None = None,
        declined: bool = False,
        pattern: str | None = None,
    ) -> None:
        nonlocal n
        n += 1
        event = {
            "event_id": f"pay-{n:08d}",
            "event_type": "card_payment",
            "occurred_at": _iso(t),
            "customer_id": c.id,
            "amount": max(50, amount),
            "currency": "EUR",
            "merchant": {
                "id": merchant[0],
                "mcc": merchant[3],
                "country": merchant[1],
                "terminal_id": merchant[2],
            },
            "card": {"pan": c.pan},
            "channel": channel or rng.choice(["card_present", "card_not_present"]),
            "auth_result": "declined" if declined else "approved",
            "email": c.email,
            "device": {"id": device or c.device},
            "geo": {"lat": c.city[1], "lon": c.city[2], "country": c.city[0]},
        }
        timeline.append((t, event))
        if pattern:
            fraud[event["event_id"]] = pattern
            if not declined:
                approved_fraud.append((event, t))

    for day in range(days):
        for c in people:
            for _ in range(_poisson(rng, per_day)):
                t = (day + rng.random()) * DAY
                m = rng.choice(merchants)
                window = compromised.get(m[0])
                stolen = window is not None and window[0] <= t < window[1] and rng.random() < 0.5
                big = rng.random() < 0.01  # a legitimate splurge
                amount = int(rng.lognormvariate(c.habit + (2.3 if big else 0.0), 0.5))
                pay(c, t, amount, m, pattern="compromised_merchant" if stolen else None)
            if rng.random() < 0.0025:  # account takeover
                t = (day + rng.random()) * DAY
                for k in range(rng.randint(1, 3)):
                    amount = int(rng.lognormvariate(c.habit + rng.uniform(2.0, 3.2), 0.3))
                    pay(
                        c,
                        t + k * 300,
                        amount,
                        rng.choice(merchants),
                        channel="card_not_present",
                        device=f"dev-ato-{n}",
                        pattern="account_takeover",
                    )
            if rng.random() < 0.0015:  # card testing
                t = (day + rng.random()) * DAY
                m = rng.choice(merchants)
                tries = rng.randint(4, 10)
                for k in range(tries):
                    pay(
                        c,
                        t + k * 20,
                        rng.randint(100, 400),
                        m,
                        declined=True,
                        pattern="card_testing",
                    )
                for k in range(rng.randint(1, 2)):
                    amount = int(rng.lognormvariate(c.habit + 0.8, 0.4))
                    pay(
                        c,
                        t + tries * 20 + k * 60,
                        amount,
                        m,
                        channel="card_not_present",
                        pattern="card_testing",
                    )
    for event, t in approved_fraud:
        if rng.random() < 0.9:
            arrive = t + rng.uniform(1, 12) * DAY
            network, code = rng.choice(FRAUD_CODES)
            n += 1
            timeline.append(
                (
                    arrive,
                    {
                        "event_id": f"cb-{n:08d}",
                        "event_type": "dispute",
                        "occurred_at": _iso(arrive),
                        "original_event_id": event["event_id"],
                        "stage": "chargeback",
                        "network": network,
                        "reason_code": code,
                        "amount": event["amount"],
                        "currency": "EUR",
                        "card": {"pan": event["card"]["pan"]},
                    },
                )
            )
    timeline.sort(key=lambda item: item[0])
    last = max(t for t, e in timeline if e["event_type"] == "card_payment")
    return World([e for _, e in timeline], fraud, START + timedelta(seconds=last))


def _poisson(rng: random.Random, mean: float) -> int:
    k, p, limit = 0, 1.0, pow(2.718281828459045, -mean)
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1
