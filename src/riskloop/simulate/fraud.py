"""Fraud patterns, each written into the traffic as real attacks look from the inside:

- ``card_testing``: a bot tries stolen card numbers with small amounts at a weak online shop,
  a few seconds apart, from one device and IP; most are declined, and the cards that
  work are cashed out soon after at shops that sell things easy to resell;
- ``account_takeover``: a login from a new device on the other side of the world (after a
  few wrong passwords, sometimes), a new payee minutes later, then transfers to it, all
  within the hour;
- ``compromised_merchant``: a skimmer on one terminal of a local shop for a few days; the
  cards that paid there are used online elsewhere a few days later, by one ring;
- ``stolen_card``: a card that just paid at home is used in person thousands of kilometres
  away within two or three hours (no one travels that fast).

``synthetic_identity`` lives in :mod:`riskloop.simulate.synthetic`. Every event an attack
writes carries a :class:`~riskloop.simulate.records.Truth`; genuine events an attack needs
(the last payment at home, the payment at the skimmed terminal) carry one with
``fraud=False``, so the ground truth can show where an attack started.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from random import Random
from typing import Any

from riskloop.simulate import identities as ids
from riskloop.simulate import records as rec
from riskloop.simulate.merchants import Merchant
from riskloop.simulate.places import FAR_CITIES, City, city_distance, to_minor
from riskloop.simulate.records import Draft, Truth
from riskloop.simulate.world import Card, Customer, Device, World

_TEST_DECLINES = ("05", "14", "54", "N7")  # do not honour, bad number, expired, CVV2 mismatch


class Incident:
    """One attack: its random stream, its name and the drafts it writes."""

    def __init__(self, w: World, rng: Random, pattern: str, number: int) -> None:
        self.w, self.rng, self.pattern = w, rng, pattern
        self.name = f"{pattern}-{number}"
        self.out: list[Draft] = []

    def emit(self, at: datetime, body: dict[str, Any], role: str, *, fraud: bool = True) -> None:
        if self.w.start <= at < self.w.end:
            self.out.append(Draft(at, body, Truth(self.pattern, role, self.name, fraud)))

    def moment(self, *, tail: timedelta = timedelta(hours=1)) -> datetime:
        """A moment after the first days (so victims have a history), ``tail`` before the end."""
        w = self.w
        head = timedelta(days=min(2.0, w.days / 4))
        span = (w.end - tail - w.start - head).total_seconds()
        return w.start + head + timedelta(seconds=int(self.rng.uniform(0, max(span, 0))))

    def far_place(self, home: City, min_km: float = 1500) -> tuple[str, City, dict[str, Any]]:
        """A fraud IP and where it geolocates: a city far from ``home``."""
        far = [c for c in FAR_CITIES if city_distance(c, home) >= min_km] or list(FAR_CITIES)
        there = self.rng.choice(far)
        return ids.fraud_ip(self.rng), there, rec.city_geo(self.rng, there)

    def throwaway_email(self) -> str:
        letters = "".join(self.rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(7))
        return f"{letters}{self.rng.randint(10, 9999)}@example.net"

    def cash_out(
        self,
        victim: Customer,
        card: Card,
        at: datetime,
        device: Device,
        where: tuple[str, dict[str, Any]],
    ) -> None:
        """Online purchases of resellable goods on a stolen card, at the shop's currency,
        from the fraudster's device and IP (``where``: the IP and its geolocation)."""
        rng, w = self.rng, self.w
        shops = w.web_shops_in("5732", "5947", "4511", "5399")
        ip, place = where
        email = self.throwaway_email()
        for _ in range(rng.randint(1, 3)):
            shop = rng.choice(shops)
            body = rec.card_payment(
                victim,
                card,
                shop,
                to_minor(rng.uniform(150, 1200), shop.currency),
                shop.currency,
                entry_mode="ecommerce",
                three_ds=rng.choice(("not_performed", "not_performed", "attempted")),
                email=email,
                device=device,
                ip=ip,
                where=place,
            )
            self.emit(at, body, "cash_out" if self.pattern == "card_testing" else "card_use")
            at += timedelta(minutes=rng.randint(4, 90))


def card_testing(inc: Incident, victims: list[Customer]) -> None:
    w, rng = inc.w, inc.rng
    shop = rng.choice(w.web_shops_in("8398", "5818"))
    device = w.device(rng, "fraud")
    ip, _, where = inc.far_place(victims[0].city)
    slots = [0] * rng.randint(6, 14)
    for i in range(1, len(victims)):
        slots += [i] * rng.randint(1, 5)
    rng.shuffle(slots)
    cards = [rng.choice(v.cards) for v in victims]
    emails = [inc.throwaway_email() for _ in victims]
    at = inc.moment(tail=timedelta(hours=3))
    live: list[int] = []
    for i in slots:
        at += timedelta(seconds=rng.randint(3, 12))  # the whole burst stays within 10 minutes
        approved = rng.random() < 0.2
        body = rec.card_payment(
            victims[i],
            cards[i],
            shop,
            rng.randint(50, 300),
            shop.currency,
            entry_mode="ecommerce",
            auth_result="approved" if approved else "declined",
            decline_code=None if approved else rng.choice(_TEST_DECLINES),
            three_ds="not_performed",
            email=emails[i],
            device=device,
            ip=ip,
            where=where,
        )
        inc.emit(at, body, "test_attempt")
        if approved and i not in live:
            live.append(i)
    cashier = w.device(rng, "fraud")
    ip2, _, where2 = inc.far_place(victims[0].city)
    for i in live:
        later = at + timedelta(minutes=rng.randint(30, 36 * 60))
        inc.cash_out(victims[i], cards[i], later, cashier, (ip2, where2))


def account_takeover(inc: Incident, victim: Customer) -> None:
    w, rng = inc.w, inc.rng
    device = w.device(rng, "fraud")
    ip, _, where = inc.far_place(victim.city)
    at = inc.moment()
    for _ in range(rng.choice((0, 0, 1, 2, 3))):
        inc.emit(
            at,
            rec.login(victim, device, ip, where, success=False, failure="bad_password"),
            "failed_login",
        )
        at += timedelta(seconds=rng.randint(30, 120))
    phished = rng.random() < 0.5
    mfa, method = ("passed", "sms") if phished else ("not_required", None)
    session = w.new_id(rng, "ses")
    inc.emit(
        at,
        rec.login(victim, device, ip, where, mfa=mfa, mfa_method=method, session=session),
        "login",
    )
    if rng.random() < 0.3:
        at += timedelta(minutes=rng.randint(1, 3))
        change = rec.account_change(
            victim, "email", inc.throwaway_email(), device=device, ip=ip, where=where
        )
        inc.emit(at, change, "email_change")
    at += timedelta(minutes=rng.randint(2, 10))
    domestic = victim.country in ("US", "GB") or rng.random() < 0.6
    mule = w.payee(
        rng, victim.country if domestic else rng.choice(("LT", "RO")), victim.rail(rng, True)
    )
    change = rec.account_change(
        victim, "payee_added", mule, device=device, ip=ip, where=where, mfa=mfa if phished else None
    )
    inc.emit(at, change, "payee_added")
    eur = min(15000.0, max(1500.0, victim.typical_eur * 60) * rng.uniform(0.8, 2.5))
    for n in range(rng.choice((1, 1, 2))):
        at += timedelta(minutes=rng.randint(5, 20) if n == 0 else rng.randint(3, 10))
        body = rec.transfer(
            victim,
            mule,
            to_minor(eur * (1 if n == 0 else rng.uniform(0.3, 0.8)), victim.currency),
            rail=mule.rail,
            reference=rng.choice(("invoice", "payment", "loan repayment", None)),
            device=device,
            ip=ip,
            where=where,
            mfa=mfa,
        )
        inc.emit(at, body, "transfer")


def compromised_merchant(inc: Incident, shop: Merchant, victims: list[Customer]) -> None:
    w, rng = inc.w, inc.rng
    terminal = rng.choice(shop.terminals)
    ring = [w.device(rng, "fraud") for _ in range(rng.randint(2, 3))]
    places = [inc.far_place(shop.city or victims[0].city) for _ in ring]
    # The skimmer sits there for three days, early enough for its cards to be used after.
    first = inc.moment(tail=timedelta(days=min(11.0, w.days * 0.6)))
    for victim in victims:
        day = (first - w.start).days + rng.randint(0, 2)
        at = rec.local_moment(rng, w.start, day, victim.city, 0)
        card = victim.cards[0]
        eur = victim.typical_eur * shop.category.spend * rng.uniform(0.6, 1.6)
        paid = rec.card_payment(
            victim,
            card,
            shop,
            to_minor(eur, shop.currency),
            shop.currency,
            terminal=terminal,
            entry_mode="chip",
            where=shop.place(),
        )
        inc.emit(at, paid, "compromise_point", fraud=False)
        k = rng.randrange(len(ring))
        ip, _, where = places[k]
        later = at + timedelta(days=rng.uniform(2, min(8.0, max(2.5, w.days / 3))))
        inc.cash_out(victim, card, later, ring[k], (ip, where))


def stolen_card(inc: Incident, victim: Customer) -> None:
    w, rng = inc.w, inc.rng
    card = victim.cards[0]
    start = inc.moment(tail=timedelta(days=1.5))  # the local day must end before the end
    day = (start - w.start).days
    home = rng.choices(victim.shops, weights=victim.shop_weights)[0]
    at = rec.local_moment(rng, w.start, day, victim.city, 0)
    eur = victim.typical_eur * home.category.spend * rng.uniform(0.5, 1.5)
    paid = rec.card_payment(
        victim,
        card,
        home,
        to_minor(eur, home.currency),
        home.currency,
        terminal=rng.choice(home.terminals),
        entry_mode="chip",
        where=home.place(),
    )
    inc.emit(at, paid, "last_genuine", fraud=False)
    gap_h = rng.uniform(40, 150) / 60
    # Far enough that getting there would take faster than 1,000 km/h.
    far = [c for c in FAR_CITIES if city_distance(c, victim.city) >= max(2500, 1000 * gap_h)]
    there = rng.choice(far or list(FAR_CITIES))
    at += timedelta(hours=gap_h)
    shops = [m for m in w.shops[there.code] if m.category.mcc in ("5732", "5944", "5311", "5651")]
    for n in range(rng.randint(2, 6)):
        shop = rng.choice(shops)
        blocked = n >= 3 and rng.random() < 0.4
        body = rec.card_payment(
            victim,
            card,
            shop,
            to_minor(rng.uniform(150, 1800), shop.currency),
            shop.currency,
            terminal=rng.choice(shop.terminals),
            entry_mode=rng.choice(("magstripe", "magstripe", "chip", "contactless")),
            auth_result="declined" if blocked else "approved",
            decline_code="59" if blocked else None,  # suspected fraud
            where=shop.place(),
        )
        inc.emit(at, body, "card_use")
        at += timedelta(minutes=rng.randint(10, 70))
