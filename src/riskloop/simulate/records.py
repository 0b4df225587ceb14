"""Drafts of the events the simulator writes, and the builders that shape them as the
contracts in :mod:`riskloop.intake.contracts` want them.

A :class:`Draft` is an event body with its time; its ``event_id`` and ``occurred_at`` are
filled in once every event is known and sorted, so ids follow time and say nothing about
how an event was made. What the simulator knows about an event (fraud or not, which pattern)
stays beside it, in :class:`Truth`, and is written to a separate file.

>>> from datetime import UTC, datetime
>>> d = Draft(datetime(2026, 2, 3, 4, 5, 6, tzinfo=UTC), {"event_type": "login"})
>>> d.number(41, "s7")
>>> d.body["event_id"], d.body["occurred_at"]
('s7-lgn-0000041', '2026-02-03T04:05:06Z')
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from random import Random
from typing import Any

from riskloop.simulate.merchants import Merchant
from riskloop.simulate.places import City, near
from riskloop.simulate.world import Card, Customer, Device, Payee

_ABBR = {
    "card_payment": "pay",
    "transfer": "trf",
    "login": "lgn",
    "account_change": "chg",
    "kyc_record": "kyc",
    "credit_application": "app",
}
# Local hour weights of a working day: quiet nights, a lunch peak and a busy evening.
_HOURS = (
    0.3, 0.15, 0.1, 0.08, 0.08, 0.15, 0.5, 1.2, 2.0, 2.2, 2.4, 2.8,
    3.4, 3.0, 2.6, 2.5, 2.7, 3.2, 3.6, 3.4, 2.8, 2.0, 1.3, 0.7,
)  # fmt: skip
_CUM_HOURS = [sum(_HOURS[: i + 1]) for i in range(24)]


@dataclass(frozen=True, slots=True)
class Truth:
    """What the simulator knows about an event: the ``pattern`` that made it, its ``role``
    in the attack, the ``incident`` it belongs to and whether it is ``fraud``."""

    pattern: str
    role: str
    incident: str
    fraud: bool


@dataclass(slots=True)
class Draft:
    at: datetime
    body: dict[str, Any]
    truth: Truth | None = None

    @property
    def event_id(self) -> str:
        return str(self.body["event_id"])

    @property
    def event_type(self) -> str:
        return str(self.body["event_type"])

    def number(self, n: int, prefix: str) -> None:
        self.body["event_id"] = f"{prefix}-{_ABBR[self.event_type]}-{n:07d}"
        self.body["occurred_at"] = stamp(self.at)


def stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _head(event_type: str) -> dict[str, Any]:
    # Placeholders keep the id and time first in every line; Draft.number fills them.
    return {"event_id": "", "event_type": event_type, "occurred_at": ""}


def poisson(rng: Random, mean: float) -> int:
    """A Poisson draw (Knuth's method; a normal approximation for large means)."""
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def local_moment(rng: Random, day0: datetime, day: int, city: City, shift: int = 0) -> datetime:
    """A moment on local day ``day`` (counted from ``day0``'s UTC date) in ``city``, at an
    hour drawn from the daily rhythm (moved by ``shift`` hours: early birds, night owls)."""
    hour = (rng.choices(range(24), cum_weights=_CUM_HOURS)[0] + shift) % 24
    midnight = datetime(day0.year, day0.month, day0.day, tzinfo=day0.tzinfo)
    return midnight + timedelta(
        days=day, hours=hour - city.utc_offset, minutes=rng.randrange(60), seconds=rng.randrange(60)
    )


def geo(lat: float, lon: float, country: str, city: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"lat": round(lat, 4), "lon": round(lon, 4), "country": country}
    if city is not None:
        out["city"] = city
    return out


def city_geo(rng: Random, c: City, km: float = 6.0) -> dict[str, Any]:
    """Somewhere in ``c`` (an IP's geolocation is only that precise)."""
    lat, lon = near(rng, c, km)
    return geo(lat, lon, c.country, c.name)


def card_payment(
    customer: Customer | None,
    card: Card,
    merchant: Merchant,
    amount: int,
    currency: str,
    *,
    terminal: str | None = None,
    entry_mode: str,
    auth_result: str = "approved",
    decline_code: str | None = None,
    three_ds: str | None = None,
    email: str | None = None,
    device: Device | None = None,
    ip: str | None = None,
    where: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A card authorization: card-present when ``terminal`` is given (``where`` is then the
    shop's place), else card-not-present (``where`` is the buyer's IP geolocation)."""
    body = _head("card_payment")
    body["kind"] = "authorization"
    if customer is not None:
        body["customer_id"] = customer.id
        body["account_id"] = customer.account_id
    body["amount"] = amount
    body["currency"] = currency
    body["merchant"] = merchant.as_dict(terminal)
    body["card"] = card.as_dict()
    body["channel"] = "card_present" if terminal is not None else "card_not_present"
    body["entry_mode"] = entry_mode
    if three_ds is not None:
        body["three_ds"] = three_ds
    body["auth_result"] = auth_result
    if decline_code is not None:
        body["decline_code"] = decline_code
    if email is not None:
        body["email"] = email
    return _with_context(body, device, ip, where)


def login(
    customer: Customer,
    device: Device,
    ip: str,
    where: dict[str, Any],
    *,
    success: bool = True,
    failure: str | None = None,
    mfa: str | None = None,
    mfa_method: str | None = None,
    session: str | None = None,
) -> dict[str, Any]:
    body = _head("login")
    body["customer_id"] = customer.id
    body["account_id"] = customer.account_id
    body["success"] = success
    if failure is not None:
        body["failure_reason"] = failure
    if mfa is not None:
        body["mfa"] = mfa
    if mfa_method is not None:
        body["mfa_method"] = mfa_method
    if session is not None:
        body["session_id"] = session
    return _with_context(body, device, ip, where)


def transfer(
    customer: Customer,
    payee: Payee,
    amount: int,
    *,
    rail: str,
    reference: str | None,
    device: Device | None = None,
    ip: str | None = None,
    where: dict[str, Any] | None = None,
    mfa: str | None = None,
) -> dict[str, Any]:
    """An outbound transfer; a standing order has no ``device``, ``ip`` or ``where``."""
    body = _head("transfer")
    body["rail"] = rail
    body["direction"] = "outbound"
    body["customer_id"] = customer.id
    body["account_id"] = customer.account_id
    body["amount"] = amount
    body["currency"] = customer.currency
    body["payee"] = payee.as_dict()
    if reference is not None:
        body["reference"] = reference
    if mfa is not None:
        body["mfa"] = mfa
        if mfa in ("passed", "failed"):
            body["mfa_method"] = "push" if device is not None and device.kind == "phone" else "sms"
    return _with_context(body, device, ip, where)


def account_change(
    customer: Customer,
    change: str,
    value: Any,
    *,
    device: Device,
    ip: str,
    where: dict[str, Any],
    mfa: str | None = None,
) -> dict[str, Any]:
    """A change of ``change`` (email, phone, address, payee_added, password) to ``value``
    (a payee for ``payee_added``; nothing for ``password``)."""
    body = _head("account_change")
    body["customer_id"] = customer.id
    body["account_id"] = customer.account_id
    body["change"] = change
    field = {"email": "new_email", "phone": "new_phone", "address": "new_address"}.get(change)
    if field is not None:
        body[field] = value
    elif change == "payee_added":
        body["payee"] = value.as_dict()
    if mfa is not None:
        body["mfa"] = mfa
        if mfa in ("passed", "failed"):
            body["mfa_method"] = "sms"
    return _with_context(body, device, ip, where)


def person(customer: Customer) -> dict[str, Any]:
    return {
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "date_of_birth": customer.birth.isoformat(),
        "nationality": customer.document["issuing_country"],
        "email": customer.email,
        "phone": customer.phone,
        "address": customer.address,
        "document": customer.document,
    }


def kyc_record(
    customer: Customer,
    at: datetime,
    *,
    risk: str = "low",
    check: str = "pass",
    reasons: tuple[str, ...] = (),
    nationality: str | None = None,
) -> dict[str, Any]:
    body = _head("kyc_record")
    body["customer_id"] = customer.id
    body["subject"] = "person"
    body["person"] = person(customer)
    if nationality is not None:
        body["person"]["nationality"] = nationality
    body["verification_status"] = "verified"
    body["document_check"] = {
        "result": check,
        "provider": "simulated-idv",
        "checked_at": stamp(at - timedelta(minutes=7)),
        "reasons": list(reasons),
    }
    body["risk_rating"] = risk
    return body


def credit_application(
    customer: Customer,
    *,
    product: str,
    requested: int,
    income: int,
    obligations: int,
    housing: str,
    months_at_address: int,
    employment: dict[str, Any],
    bureau: dict[str, Any],
    device: Device,
    ip: str,
    where: dict[str, Any],
    term_months: int | None = None,
    purpose: str | None = None,
    savings: int | None = None,
) -> dict[str, Any]:
    body = _head("credit_application")
    body["product"] = product
    body["customer_id"] = customer.id
    body["applicant"] = person(customer)
    body["requested_amount"] = requested
    body["currency"] = customer.currency
    if term_months is not None:
        body["term_months"] = term_months
    if purpose is not None:
        body["purpose"] = purpose
    body["monthly_income"] = income
    body["monthly_obligations"] = obligations
    body["housing"] = housing
    body["months_at_address"] = months_at_address
    if savings is not None:
        body["savings_balance"] = savings
    body["employment"] = employment
    body["bureau"] = bureau
    return _with_context(body, device, ip, where)


def _with_context(
    body: dict[str, Any], device: Device | None, ip: str | None, where: dict[str, Any] | None
) -> dict[str, Any]:
    """The device, IP and geo an event was sent from, those that are known."""
    if device is not None:
        body["device"] = device.as_dict()
    if ip is not None:
        body["ip"] = ip
    if where is not None:
        body["geo"] = where
    return body
