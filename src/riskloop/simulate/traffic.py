"""Genuine behaviour: what each customer does on their own, day by day.

Card payments follow the customer's habits (how often, how much, which shops, how much
online) and a daily rhythm in their local time; card-present ones happen at the shops of
the city they are in, online ones from their devices and IPs. Logins (a few failed
passwords), transfers to known payees and the monthly rent, subscriptions, now and then a
new payee, a changed email or phone, a new phone, a trip abroad or a credit application:
the ordinary life that fraud has to be told apart from.

Each customer draws from a random stream of their own, so adding fraud, or another
customer, does not change what the others do.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from riskloop.simulate import identities as ids
from riskloop.simulate import records as rec
from riskloop.simulate.places import to_minor
from riskloop.simulate.records import Draft
from riskloop.simulate.streams import stream
from riskloop.simulate.world import Card, Customer, Device, Payee, World

_REFERENCES = ("thanks", "dinner", "savings", "gift", "holiday", "tickets", "share of bills")


class _Life:
    """One customer's life, with the state that changes as days pass."""

    def __init__(self, w: World, c: Customer) -> None:
        self.w, self.c = w, c
        self.rng = stream(w.seed, "traffic", c.id)
        self.out: list[Draft] = []
        self.payees = list(c.payees)
        self.email = c.email
        self.home_geo = rec.geo(c.lat, c.lon, c.country, c.city.name)
        self.joined = w.start
        self.phone_seen = False

    def emit(self, at: datetime, body: dict[str, Any]) -> None:
        if self.joined <= at < self.w.end:
            self.out.append(Draft(at, body))

    def devices(self, day: int) -> list[Device]:
        if self.c.new_phone is not None and day >= self.c.new_phone[0]:
            return [self.c.new_phone[1], *self.c.devices[1:]]
        return self.c.devices

    def pick_device(self, day: int) -> Device:
        devices = self.devices(day)
        return devices[0] if self.rng.random() < 0.75 else self.rng.choice(devices)

    def connection(self, device: Device, day: int) -> tuple[str, dict[str, Any]]:
        """The IP and its geolocation: home broadband, mobile data, or the hotel abroad."""
        c, rng = self.c, self.rng
        trip = c.trip
        if trip is not None and trip.where(day) == "away":
            away = trip.city
            return ids.home_ip(rng, self.w.ip_blocks[away.country]), rec.city_geo(rng, away)
        if device.kind == "phone" and rng.random() < 0.6:
            return ids.mobile_ip(rng, c.ip_block), rec.city_geo(rng, c.city, 12.0)
        return c.home_ip, self.home_geo

    # -- card payments ------------------------------------------------------------------

    def amount_eur(self, spend: float) -> float:
        eur = self.c.typical_eur * spend * math.exp(self.rng.gauss(0.0, 0.6))
        return min(4000.0, max(0.8, eur))

    def card(self) -> Card:
        cards = self.c.cards
        return cards[0] if len(cards) == 1 or self.rng.random() < 0.8 else cards[1]

    def decline(self) -> tuple[str, str | None]:
        r = self.rng.random()
        if r < 0.015:
            return "declined", "51"  # insufficient funds
        if r < 0.02:
            return "declined", "05"
        return "approved", None

    def card_present(self, at: datetime, day: int) -> None:
        c, rng = self.c, self.rng
        trip = c.trip
        if trip is not None and trip.where(day) == "away":
            shops = self.w.shops[trip.city.code]
            shop = rng.choice(shops)
        else:
            shop = rng.choices(c.shops, weights=c.shop_weights)[0]
        eur = self.amount_eur(shop.category.spend)
        tap = 0.4 if c.country == "US" else 0.85
        mode = "contactless" if eur < 50 and rng.random() < tap else "chip"
        result, code = self.decline()
        body = rec.card_payment(
            c,
            self.card(),
            shop,
            to_minor(eur, shop.currency),
            shop.currency,
            terminal=rng.choice(shop.terminals),
            entry_mode=mode,
            auth_result=result,
            decline_code=code,
            where=shop.place(),
        )
        self.emit(at, body)

    def three_ds(self) -> str:
        r = self.rng.random()
        if self.c.country == "US":
            return "not_performed" if r < 0.75 else ("authenticated" if r < 0.95 else "attempted")
        return "authenticated" if r < 0.8 else ("not_performed" if r < 0.95 else "attempted")

    def online(self, at: datetime, day: int) -> None:
        c, rng = self.c, self.rng
        shop = rng.choice(c.web_shops)
        device = self.pick_device(day)
        ip, where = self.connection(device, day)
        result, code = self.decline()
        body = rec.card_payment(
            c,
            self.card(),
            shop,
            to_minor(self.amount_eur(shop.category.spend), c.currency),
            c.currency,
            entry_mode="ecommerce",
            auth_result=result,
            decline_code=code,
            three_ds=self.three_ds(),
            email=self.email,
            device=device,
            ip=ip,
            where=where,
        )
        self.emit(at, body)

    def subscriptions(self) -> None:
        c, start = self.c, self.w.start
        for month in range(self.w.days // 28 + 2):
            for shop, eur, dom in c.subscriptions:
                y, m = divmod(start.month - 1 + month, 12)
                at = datetime(start.year + y, m + 1, dom, 4, 0, tzinfo=start.tzinfo)
                at += timedelta(seconds=self.rng.randrange(3 * 3600))
                body = rec.card_payment(
                    c,
                    c.cards[0],
                    shop,
                    to_minor(eur, c.currency),
                    c.currency,
                    entry_mode="recurring",
                    email=self.email,
                )
                self.emit(at, body)

    # -- logins, transfers, account changes ---------------------------------------------

    def login(self, at: datetime, day: int, device: Device | None = None) -> None:
        c, rng = self.c, self.rng
        device = device or self.pick_device(day)
        ip, where = self.connection(device, day)
        if rng.random() < 0.035:
            failure = "bad_password" if rng.random() < 0.8 else "bad_mfa"
            self.emit(at, rec.login(c, device, ip, where, success=False, failure=failure))
            at += timedelta(seconds=rng.randint(20, 180))
        new = c.new_phone is not None and c.new_phone[1] is device and not self.phone_seen
        self.phone_seen = self.phone_seen or new
        mfa, method = ("passed", "sms") if new else ("not_required", None)
        session = self.w.new_id(rng, "ses")
        self.emit(at, rec.login(c, device, ip, where, mfa=mfa, mfa_method=method, session=session))

    def transfer(
        self,
        at: datetime,
        day: int,
        payee: Payee,
        eur: float,
        reference: str,
        *,
        online: bool = True,
    ) -> None:
        """A transfer from the app (``online``), or a standing order the bank runs."""
        c, rng = self.c, self.rng
        rail = payee.rail if payee.rail != "sepa" else c.rail(rng)
        amount = to_minor(eur, c.currency)
        if not online:
            self.emit(at, rec.transfer(c, payee, amount, rail=rail, reference=reference))
            return
        device = self.devices(day)[0]
        ip, where = self.connection(device, day)
        mfa = "passed" if eur > 1000 else "not_required"
        body = rec.transfer(
            c,
            payee,
            amount,
            rail=rail,
            reference=reference,
            device=device,
            ip=ip,
            where=where,
            mfa=mfa,
        )
        self.emit(at, body)

    def rent(self) -> None:
        c = self.c
        if c.rent is None:
            return
        landlord, eur = c.rent
        start = self.w.start
        for month in range(self.w.days // 28 + 2):
            y, m = divmod(start.month - 1 + month, 12)
            at = datetime(start.year + y, m + 1, 1, 7, tzinfo=start.tzinfo)
            at += timedelta(hours=-c.city.utc_offset, seconds=self.rng.randrange(3600))
            self.transfer(at, (at - start).days, landlord, eur, "rent", online=False)

    def changes(self, first_day: int) -> None:
        """Now and then: a new payee (and soon a transfer to it), a changed email, phone,
        address or password, all from the customer's own phone at home."""
        c, rng, w = self.c, self.rng, self.w
        days = w.days - first_day
        if days < 2:
            return
        for change, chance in (
            ("payee_added", 0.1),
            ("email", 0.02),
            ("phone", 0.015),
            ("address", 0.01),
            ("password", 0.03),
        ):
            if rng.random() >= chance * days / 28:
                continue
            day = rng.randint(first_day, w.days - 1)
            at = rec.local_moment(rng, w.start, day, c.city, c.hour_shift)
            device = self.devices(day)[0]
            ip, where = self.connection(device, day)
            value: Any = None
            if change == "payee_added":
                value = w.payee(rng, c.country, c.rail(rng))
            elif change == "email":
                value = self.email = ids.email(rng, c.first_name, c.last_name)
            elif change == "phone":
                value = ids.phone(rng, c.country)
            elif change == "address":
                value = ids.address(rng, c.country, c.city.name)
            self.login(at - timedelta(minutes=rng.randint(1, 5)), day, device)
            body = rec.account_change(c, change, value, device=device, ip=ip, where=where)
            self.emit(at, body)
            if change == "payee_added":
                later = at + timedelta(minutes=rng.randint(3, 3 * 24 * 60))
                eur = c.typical_eur * rng.uniform(2, 20)
                self.transfer(later, (later - w.start).days, value, eur, rng.choice(_REFERENCES))
                self.payees.append(value)

    def credit(self, first_day: int) -> None:
        c, rng, w = self.c, self.rng, self.w
        if rng.random() >= 0.015 * w.days / 28:
            return
        day = rng.randint(first_day, w.days - 1)
        at = rec.local_moment(rng, w.start, day, c.city, c.hour_shift)
        device = self.devices(day)[0]
        ip, where = self.connection(device, day)
        income = to_minor(rng.uniform(1800, 6500), c.currency)
        loan = rng.random() < 0.6
        body = rec.credit_application(
            c,
            product="loan" if loan else "credit_line",
            requested=to_minor(rng.choice((1000, 2500, 5000, 8000, 15000)), c.currency),
            term_months=rng.choice((12, 24, 36, 48, 60)) if loan else None,
            purpose=rng.choice(("car_used", "furniture", "repairs", "education")) if loan else None,
            income=income,
            obligations=round(income * rng.uniform(0.1, 0.4)),
            housing=rng.choice(("rent", "own", "own", "free")),
            months_at_address=rng.randint(12, 240),
            savings=to_minor(rng.uniform(0, 20000), c.currency),
            employment={
                "status": "employed",
                "months_in_job": rng.randint(6, 300),
                "level": "skilled",
            },
            bureau={
                "credit_history": rng.choice(("paid_duly", "paid_duly", "all_paid_here")),
                "existing_credits": rng.randint(0, 3),
                "score": rng.randint(640, 880),
            },
            device=device,
            ip=ip,
            where=where,
        )
        self.emit(at, body)


def genuine(w: World, c: Customer) -> list[Draft]:
    """Everything ``c`` does in the simulated period, in no particular order."""
    life = _Life(w, c)
    rng = life.rng
    first_day = 0 if c.onboard_day is None else c.onboard_day
    if c.onboard_day is None:
        joined = w.start + timedelta(seconds=rng.randrange(2 * 3600))
    else:
        joined = rec.local_moment(rng, w.start, first_day, c.city, c.hour_shift)
    life.joined = joined
    life.emit(joined, rec.kyc_record(c, joined, risk="low" if rng.random() < 0.85 else "medium"))
    for day in range(first_day, w.days):
        where = c.trip.where(day) if c.trip is not None else "home"
        if where == "travel":
            continue
        if c.new_phone is not None and c.new_phone[0] == day:
            at = rec.local_moment(rng, w.start, day, c.city, c.hour_shift)
            life.login(at, day, c.new_phone[1])
        weekday = (w.start + timedelta(days=day)).weekday()
        factor = 1.25 if weekday >= 5 else 1.0
        for _ in range(rec.poisson(rng, c.pay_rate * factor)):
            at = rec.local_moment(rng, w.start, day, c.city, c.hour_shift)
            if rng.random() < c.cnp_share:
                life.online(at, day)
            else:
                life.card_present(at, day)
        for _ in range(rec.poisson(rng, c.login_rate)):
            life.login(rec.local_moment(rng, w.start, day, c.city, c.hour_shift), day)
        for _ in range(rec.poisson(rng, c.transfer_rate if where == "home" else 0.0)):
            at = rec.local_moment(rng, w.start, day, c.city, c.hour_shift)
            if life.payees:
                payee = rng.choice(life.payees)
                eur = min(5000.0, c.typical_eur * math.exp(rng.gauss(math.log(6), 0.8)))
                life.transfer(at, day, payee, eur, rng.choice(_REFERENCES))
    if c.onboard_day is None:
        life.subscriptions()
    life.rent()
    life.changes(first_day)
    life.credit(first_day)
    return life.out
