"""A deterministic, realistic event stream for feature and parity tests (and benchmarks):
customers with cards, devices and home cities; merchants with terminals; payments, logins,
transfers; card testing, stolen cards used far away and account takeovers; chargebacks that
arrive days later; events that arrive late (within the lateness) and duplicates."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

CITIES = [
    ("DE", 52.52, 13.40),
    ("DE", 48.14, 11.58),
    ("FR", 48.86, 2.35),
    ("GB", 51.51, -0.13),
    ("ES", 40.42, -3.70),
    ("IT", 41.90, 12.50),
    ("NL", 52.37, 4.90),
    ("US", 40.71, -74.01),
    ("BR", -23.55, -46.63),
    ("SG", 1.35, 103.82),
]
MCCS = ["5411", "5812", "5999", "4111", "5732", "7995", "5311", "4814"]
FRAUD_CODES = [("visa", "10.4"), ("mastercard", "4837")]


def luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(length - len(prefix) - 1))
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


@dataclass
class _Customer:
    id: str
    pans: list[str]
    devices: list[str]
    city: tuple[str, float, float]
    ip: str
    account: str
    email: str


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def generate(
    n: int,
    *,
    seed: int = 7,
    days: int = 30,
    late_share: float = 0.03,
    duplicate_share: float = 0.01,
    lateness_s: int = 600,
) -> list[dict[str, Any]]:
    """About ``n`` events (plus duplicates and chargebacks), in arrival order."""
    rng = random.Random(seed)
    start = datetime(2026, 10, 1, tzinfo=UTC)
    customers = []
    for i in range(max(50, n // 30)):
        city = rng.choice(CITIES)
        customers.append(
            _Customer(
                id=f"cus-{i}",
                pans=[
                    luhn_complete(rng.choice(["411111", "555555", "400000"]), 16, rng)
                    for _ in range(rng.choice([1, 1, 2]))
                ],
                devices=[f"dev-{i}-{k}" for k in range(rng.choice([1, 2]))],
                city=city,
                ip=f"10.{i % 250}.{(i // 250) % 250}.{rng.randrange(1, 250)}",
                account=f"acc-{i}",
                email=f"user{i}@example.com",
            )
        )
    merchants = [
        (
            f"m-{j}",
            rng.choice(MCCS),
            rng.choice(CITIES),
            [f"t-{j}-{k}" for k in range(rng.randint(1, 3))],
        )
        for j in range(max(20, n // 200))
    ]
    span = days * 86400.0
    timeline: list[tuple[float, dict[str, Any]]] = []  # (arrival seconds, payload)
    seq = 0

    def add(payload: dict[str, Any], occurred: float, arrival: float) -> None:
        nonlocal seq
        seq += 1
        payload["event_id"] = f"evt-{seq:07d}"
        payload["occurred_at"] = _iso(start + timedelta(seconds=occurred))
        timeline.append((arrival, payload))

    def delay() -> float:
        r = rng.random()
        if r < 0.002:  # a few beyond the allowed lateness
            return rng.uniform(lateness_s, 3 * lateness_s)
        return rng.uniform(0, lateness_s) if r < late_share else rng.uniform(0, 2)

    def payment(
        c: _Customer,
        t: float,
        *,
        pan: str | None = None,
        amount: int | None = None,
        city: tuple[str, float, float] | None = None,
        declined: bool = False,
        merchant: Any = None,
    ) -> dict[str, Any]:
        m = merchant or rng.choice(merchants)
        where = city or c.city
        return {
            "event_type": "card_payment",
            "customer_id": c.id,
            "amount": amount if amount is not None else int(rng.lognormvariate(7.5, 1.0)),
            "currency": "EUR",
            "merchant": {
                "id": m[0],
                "mcc": m[1],
                "country": m[2][0],
                "terminal_id": rng.choice(m[3]),
            },
            "card": {"pan": pan or rng.choice(c.pans)},
            "channel": rng.choice(["card_present", "card_not_present"]),
            "auth_result": "declined" if declined or rng.random() < 0.03 else "approved",
            "email": c.email,
            "device": {"id": rng.choice(c.devices)},
            "ip": c.ip,
            "geo": {
                "lat": where[1] + rng.uniform(-0.05, 0.05),
                "lon": where[2] + rng.uniform(-0.05, 0.05),
                "country": where[0],
            },
        }

    fraud_payments: list[tuple[dict[str, Any], float]] = []
    for _ in range(n):
        c = rng.choice(customers)
        t = rng.uniform(0, span)
        r = rng.random()
        if r < 0.80:
            p = payment(c, t)
            add(p, t, t + delay())
        elif r < 0.90:
            add(
                {
                    "event_type": "login",
                    "customer_id": c.id,
                    "success": rng.random() > 0.05,
                    "device": {"id": rng.choice(c.devices)},
                    "ip": c.ip,
                    "geo": {"lat": c.city[1], "lon": c.city[2]},
                },
                t,
                t + delay(),
            )
        elif r < 0.985:
            payee = rng.choice(customers)
            add(
                {
                    "event_type": "transfer",
                    "rail": "sepa",
                    "customer_id": c.id,
                    "account_id": c.account,
                    "amount": rng.randint(1000, 200000),
                    "currency": "EUR",
                    "payee": {"iban": f"DE{rng.randrange(10**19, 10**20)}", "name": payee.id}
                    if rng.random() < 0.3
                    else {"iban": f"DE00{int(payee.account[4:]):016d}", "name": payee.id},
                },
                t,
                t + delay(),
            )
        elif r < 0.993:
            # Card testing: a burst of small declined attempts, then a big one.
            pan = rng.choice(c.pans)
            m = rng.choice(merchants)
            for k in range(rng.randint(5, 12)):
                tk = t + k * rng.uniform(5, 40)
                p = payment(c, tk, pan=pan, amount=rng.randint(50, 300), declined=True, merchant=m)
                add(p, tk, tk + delay())
                fraud_payments.append((p, tk))
        elif r < 0.997:
            # Stolen card used far from home.
            pan = rng.choice(c.pans)
            far = rng.choice([x for x in CITIES if x != c.city])
            for k in range(rng.randint(1, 4)):
                tk = t + k * rng.uniform(60, 900)
                p = payment(c, tk, pan=pan, city=far, amount=rng.randint(20000, 150000))
                p["device"] = {"id": f"dev-fraud-{rng.randrange(10**6)}"}
                add(p, tk, tk + delay())
                fraud_payments.append((p, tk))
        else:
            # Account takeover: login from a new device, then a large transfer to a new payee.
            dev = f"dev-ato-{rng.randrange(10**6)}"
            add(
                {
                    "event_type": "login",
                    "customer_id": c.id,
                    "success": True,
                    "device": {"id": dev},
                    "ip": "192.0.2.1",
                    "geo": {"lat": 6.52, "lon": 3.38},
                },
                t,
                t + delay(),
            )
            add(
                {
                    "event_type": "transfer",
                    "rail": "sepa_instant",
                    "customer_id": c.id,
                    "account_id": c.account,
                    "amount": rng.randint(200000, 900000),
                    "currency": "EUR",
                    "device": {"id": dev},
                    "payee": {"iban": f"GB{rng.randrange(10**19, 10**20)}", "name": "mule"},
                },
                t + 120,
                t + 121,
            )
    # Chargebacks arrive days to weeks later; a few are withdrawn (reversal).
    for p, t in fraud_payments:
        if p["auth_result"] == "approved" and rng.random() < 0.7:
            arrive = t + rng.uniform(2, 25) * 86400
            network, code = rng.choice(FRAUD_CODES)
            dispute = {
                "event_type": "dispute",
                "original_event_id": p["event_id"],
                "stage": "chargeback",
                "network": network,
                "reason_code": code,
                "amount": p["amount"],
                "currency": "EUR",
                "card": {"pan": p["card"]["pan"]},
            }
            add(dispute, arrive, arrive)
    timeline.sort(key=lambda item: item[0])
    out = [payload for _, payload in timeline]
    # Duplicates: the same event sent again a little later.
    for i in sorted(rng.sample(range(len(out)), int(len(out) * duplicate_share)), reverse=True):
        out.insert(min(len(out), i + rng.randint(1, 50)), dict(out[i]))
    return out
