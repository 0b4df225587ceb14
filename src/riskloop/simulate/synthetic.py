"""Synthetic identities: a ring opens accounts under made-up people, builds them a short,
clean history, asks for credit and spends it all at once ("bust-out").

The identities are thin and a little odd: young or born on the first of January, a document
from another country than the stated nationality, an e-mail of random letters, and one
address, phone, device and IP shared by the whole ring. Spending starts small and grows
day by day; a credit-line application follows, then a burst of large purchases of things
easy to resell. Nobody complains (the "customer" is the fraudster): the truth arrives weeks
later as an analyst's verdict, once the line is charged off.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from random import Random

from riskloop.simulate import identities as ids
from riskloop.simulate import records as rec
from riskloop.simulate.fraud import Incident
from riskloop.simulate.places import HOME_CITIES, to_minor
from riskloop.simulate.world import Customer, Device, new_customer

_ODD_NATIONALITY = ("RO", "BG", "LT", "UA", "NG", "BR")


def _identity(inc: Incident, c: Customer, shared: Customer, device: Device, ip: str) -> None:
    rng = inc.rng
    year = inc.w.start.year
    if rng.random() < 0.5:
        c.birth = date(year - rng.randint(19, 23), rng.randint(1, 12), rng.randint(1, 28))
    else:
        c.birth = date(rng.randint(1975, 1998), 1, 1)
    c.email = inc.throwaway_email()
    c.address, c.phone = shared.address, shared.phone
    c.devices, c.home_ip = [device], ip
    c.cards = c.cards[:1]
    c.synthetic = True


def _moment(rng: Random, day0: datetime, day: int, c: Customer) -> datetime:
    return rec.local_moment(rng, day0, day, c.city, 1)


def _spend(
    inc: Incident, c: Customer, at: datetime, eur: float, role: str, mccs: tuple[str, ...]
) -> None:
    w, rng = inc.w, inc.rng
    online = rng.random() < 0.65
    where = rec.geo(c.lat, c.lon, c.country, c.city.name)
    if online:
        shop = rng.choice(w.web_shops_in(*mccs) or w.web_shops)
        body = rec.card_payment(
            c,
            c.cards[0],
            shop,
            to_minor(eur, c.currency),
            c.currency,
            entry_mode="ecommerce",
            three_ds="authenticated" if c.country != "US" else "not_performed",
            email=c.email,
            device=c.devices[0],
            ip=c.home_ip,
            where=where,
        )
    else:
        local = [m for m in w.shops[c.city.code] if m.category.mcc in mccs] or w.shops[c.city.code]
        shop = rng.choice(local)
        body = rec.card_payment(
            c,
            c.cards[0],
            shop,
            to_minor(eur, shop.currency),
            shop.currency,
            terminal=rng.choice(shop.terminals),
            entry_mode="chip",
            where=shop.place(),
        )
    inc.emit(at, body, role)


def _application(inc: Incident, c: Customer, at: datetime) -> None:
    rng = inc.rng
    body = rec.credit_application(
        c,
        product="credit_line",
        requested=to_minor(rng.choice((5000, 7500, 10000, 15000)), c.currency),
        income=to_minor(rng.uniform(4500, 9000), c.currency),
        obligations=to_minor(rng.uniform(0, 200), c.currency),
        housing="rent",
        months_at_address=rng.randint(2, 8),
        employment={
            "status": "self_employed",
            "months_in_job": rng.randint(3, 14),
            "level": rng.choice(("skilled", "management")),
        },
        bureau={
            "credit_history": rng.choice(("no_credit", "all_paid_here")),
            "existing_credits": 0,
            "score": rng.randint(560, 650),
        },
        device=c.devices[0],
        ip=c.home_ip,
        where=rec.geo(c.lat, c.lon, c.country, c.city.name),
    )
    inc.emit(at, body, "application")


def synthetic_ring(inc: Incident) -> list[Customer]:
    """One ring of one to three synthetic customers, from account opening to bust-out."""
    w, rng = inc.w, inc.rng
    home = rng.choices(HOME_CITIES, weights=[c.weight for c in HOME_CITIES])[0]
    onboard = rng.randint(0, max(0, int(w.days * 0.3)))
    ramp = max(2, min(int(w.days * 0.35), w.days - onboard - 4))
    shared = new_customer(rng, w, home, onboard)
    device = w.device(rng, "phone")
    ip = ids.home_ip(rng, w.ip_blocks[home.country])
    members = []
    for _ in range(rng.randint(1, 3)):
        c = new_customer(rng, w, home, onboard)
        _identity(inc, c, shared, device, ip)
        members.append(c)
        joined = max(_moment(rng, w.start, onboard, c), w.start + timedelta(minutes=5))
        odd = rng.random() < 0.6
        kyc = rec.kyc_record(
            c,
            joined,
            risk="medium",
            reasons=("thin credit file",),
            nationality=rng.choice(_ODD_NATIONALITY) if odd else None,
        )
        inc.emit(joined, kyc, "account_opening")
        for i in range(1, ramp + 1):
            share = i / ramp
            day = onboard + i
            at = _moment(rng, w.start, day, c)
            session = w.new_id(rng, "ses")
            where = rec.geo(c.lat, c.lon, c.country, c.city.name)
            login = rec.login(c, device, ip, where, mfa="not_required", session=session)
            inc.emit(at, login, "ramp")
            for _ in range(rec.poisson(rng, 0.5 + 3 * share)):
                eur = (10 + 90 * share) * math.exp(rng.gauss(0, 0.4))
                at = _moment(rng, w.start, day, c)
                _spend(inc, c, at, eur, "ramp", ("5411", "5814", "5399", "5818", "5691"))
        applied = _moment(rng, w.start, onboard + ramp + 1, c)
        _application(inc, c, applied)
        bust = applied + timedelta(days=rng.uniform(1, 3))
        for _ in range(rng.randint(6, 14)):
            bust += timedelta(minutes=rng.randint(20, 240))
            eur = rng.uniform(250, 2500)
            _spend(inc, c, bust, eur, "bust_out", ("5732", "5944", "5947", "5311"))
    return members
