"""The simulated world: customers with a home, habits, cards, devices, IPs, accounts and
payees, living among the shops of :mod:`riskloop.simulate.merchants`.

Everything here is drawn once from the world's own random stream, so the same seed and size
give the same people whatever the length of the simulation or its fraud rate.

>>> from datetime import UTC, datetime
>>> w = build_world(7, 20, datetime(2026, 2, 1, tzinfo=UTC), 14)
>>> len(w.customers), w.customers[0].cards[0].network in ("visa", "mastercard")
(20, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from random import Random
from typing import Any

from riskloop.simulate import identities as ids
from riskloop.simulate.merchants import SHOPS, WEB_SHOPS, Merchant, city_shops, online_shop
from riskloop.simulate.places import FAR_CITIES, HOME_CITIES, City, near
from riskloop.simulate.streams import stream


@dataclass(frozen=True, slots=True)
class Card:
    pan: str
    network: str
    country: str
    _dict: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        if not self._dict:
            self._dict.update(pan=self.pan, network=self.network, country=self.country)
        return self._dict


@dataclass(frozen=True, slots=True)
class Device:
    id: str
    kind: str  # phone, laptop, tablet, fraud
    user_agent: str
    _dict: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        if not self._dict:
            self._dict.update(id=self.id, user_agent=self.user_agent)
        return self._dict


@dataclass(frozen=True, slots=True)
class Payee:
    id: str
    kind: str
    name: str
    bank_country: str
    rail: str
    iban: str | None = None
    account_number: str | None = None
    routing_code: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "kind": self.kind, "name": self.name}
        if self.iban:
            out["iban"] = self.iban
        if self.account_number:
            out["account_number"] = self.account_number
        if self.routing_code:
            out["routing_code"] = self.routing_code
        out["bank_country"] = self.bank_country
        return out


@dataclass(frozen=True, slots=True)
class Trip:
    city: City
    first_day: int  # the day of the outbound flight (no spending: they travel)
    nights: int

    def where(self, day: int) -> str:
        """``travel`` on the flight days, ``away`` in between, else ``home``."""
        if day in (self.first_day, self.first_day + self.nights + 1):
            return "travel"
        return "away" if self.first_day < day <= self.first_day + self.nights else "home"


@dataclass(slots=True)
class Customer:
    id: str
    account_id: str
    city: City
    lat: float
    lon: float
    first_name: str
    last_name: str
    birth: date
    email: str
    phone: str
    address: dict[str, Any]
    document: dict[str, Any]
    cards: list[Card]
    devices: list[Device]
    home_ip: str
    ip_block: int
    typical_eur: float  # median card payment, in euros
    pay_rate: float  # card payments a day
    cnp_share: float
    hour_shift: int
    login_rate: float
    transfer_rate: float
    shops: list[Merchant]
    shop_weights: list[float]
    web_shops: list[Merchant]
    payees: list[Payee]
    rent: tuple[Payee, float] | None = None  # landlord and monthly rent in euros
    subscriptions: list[tuple[Merchant, float, int]] = field(default_factory=list)
    onboard_day: int | None = None  # None: a customer from before the simulation
    trip: Trip | None = None
    new_phone: tuple[int, Device] | None = None  # (day, device): the customer changes phones
    synthetic: bool = False

    @property
    def country(self) -> str:
        return self.city.country

    @property
    def currency(self) -> str:
        return self.city.currency

    def rail(self, rng: Random, instant: bool = False) -> str:
        if self.country == "US":
            return "rtp" if instant else "ach"
        if self.country == "GB":
            return "faster_payments"
        return "sepa_instant" if instant or rng.random() < 0.3 else "sepa"


@dataclass
class World:
    seed: int
    start: datetime
    days: int
    customers: list[Customer]
    shops: dict[str, list[Merchant]]  # city code -> card-present merchants
    web_shops: list[Merchant]
    ip_blocks: dict[str, int]
    used: set[str] = field(default_factory=set)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(days=self.days)

    def new_id(self, rng: Random, prefix: str) -> str:
        while True:
            value = ids.hex_id(rng, prefix)
            if value not in self.used:
                self.used.add(value)
                return value

    def new_pan(self, rng: Random) -> tuple[str, str]:
        network, bin6 = rng.choice(ids.BINS)
        while True:
            pan = ids.card_number(rng, bin6)
            if pan not in self.used:
                self.used.add(pan)
                return network, pan

    def device(self, rng: Random, kind: str) -> Device:
        return Device(self.new_id(rng, "dev"), kind, rng.choice(ids.USER_AGENTS[kind]))

    def payee(self, rng: Random, country: str, rail: str, kind: str = "individual") -> Payee:
        first, last = ids.person_name(rng, country)
        name = f"{first} {last}" if kind == "individual" else f"{last} Lettings Ltd"
        pid = self.new_id(rng, "pye")
        if country == "US":
            number, routing = ids.account_number(rng, "US"), ids.aba_routing(rng)
            return Payee(pid, kind, name, "US", rail, account_number=number, routing_code=routing)
        if country == "GB":
            number, routing = ids.account_number(rng, "GB"), ids.sort_code(rng)
            return Payee(pid, kind, name, "GB", rail, account_number=number, routing_code=routing)
        return Payee(pid, kind, name, country, rail, iban=ids.iban(rng, country))

    def web_shops_in(self, *mccs: str) -> list[Merchant]:
        return [m for m in self.web_shops if m.category.mcc in mccs]


def _web_shops(rng: Random, w: World, country: str) -> list[Merchant]:
    """The online shops a customer uses: mostly ones of their own country, some abroad."""
    local = [m for m in w.web_shops if m.country == country]
    chosen: dict[str, Merchant] = {}
    for _ in range(rng.randint(2, 6)):
        m = rng.choice(local if local and rng.random() < 0.75 else w.web_shops)
        chosen.setdefault(m.id, m)
    return list(chosen.values())


def new_customer(rng: Random, w: World, c: City, onboard_day: int | None) -> Customer:
    """A customer living in ``c``, with cards, devices, habits and payees."""
    first, last = ids.person_name(rng, c.country)
    today = w.start.date()
    lat, lon = near(rng, c, 6.0)
    cards = []
    for _ in range(1 if rng.random() < 0.7 else 2):
        network, pan = w.new_pan(rng)
        cards.append(Card(pan, network, c.country))
    devices = [w.device(rng, "phone")]
    if rng.random() < 0.6:
        devices.append(w.device(rng, "laptop"))
    if rng.random() < 0.15:
        devices.append(w.device(rng, "tablet"))
    shops = w.shops[c.code]
    favourite = rng.sample(shops, min(len(shops), rng.randint(5, 12)))
    favourite_weights = [m.category.weight / (rank + 1) ** 0.7 for rank, m in enumerate(favourite)]
    web = _web_shops(rng, w, c.country)
    rail = "ach" if c.country == "US" else ("faster_payments" if c.country == "GB" else "sepa")
    payees = [w.payee(rng, c.country, rail) for _ in range(rng.randint(1, 4))]
    customer = Customer(
        id=w.new_id(rng, "cus"),
        account_id=w.new_id(rng, "acc"),
        city=c,
        lat=lat,
        lon=lon,
        first_name=first,
        last_name=last,
        birth=date(rng.randint(1950, 2004), rng.randint(1, 12), rng.randint(1, 28)),
        email=ids.email(rng, first, last),
        phone=ids.phone(rng, c.country),
        address=ids.address(rng, c.country, c.name),
        document=ids.document(rng, c.country, today),
        cards=cards,
        devices=devices,
        home_ip=ids.home_ip(rng, w.ip_blocks[c.country]),
        ip_block=w.ip_blocks[c.country],
        typical_eur=math.exp(rng.gauss(math.log(22.0), 0.45)),
        pay_rate=min(6.0, max(0.2, math.exp(rng.gauss(math.log(1.6), 0.5)))),
        cnp_share=rng.uniform(0.1, 0.5),
        hour_shift=rng.choice((-1, 0, 0, 0, 1, 2)),
        login_rate=min(4.0, math.exp(rng.gauss(math.log(0.7), 0.6))),
        transfer_rate=rng.choice((0.0, 0.03, 0.07, 0.1, 0.15, 0.3)),
        shops=favourite,
        shop_weights=favourite_weights,
        web_shops=web,
        payees=payees,
        onboard_day=onboard_day,
    )
    if rng.random() < 0.7:
        landlord = w.payee(rng, c.country, rail, kind="business")
        customer.rent = (landlord, round(customer.typical_eur * rng.uniform(25, 45), 2))
    streaming = w.web_shops_in("4899", "5818")
    for _ in range(rng.choice((0, 1, 1, 2, 3))):
        price = rng.choice((4.99, 7.99, 9.99, 12.99, 17.99))
        customer.subscriptions.append((rng.choice(streaming), price, rng.randint(1, 28)))
    return customer


def _plans(rng: Random, w: World, c: Customer) -> None:
    """Trips and new phones: genuine behaviour that looks a little like fraud."""
    if w.days >= 7 and c.onboard_day is None and rng.random() < 0.05:
        near = [
            x
            for x in HOME_CITIES
            if x.code != c.city.code and (x.country == "US") == (c.country == "US")
        ]
        nights = rng.randint(2, min(5, w.days - 4))
        c.trip = Trip(rng.choice(near), rng.randint(1, w.days - nights - 2), nights)
    if w.days >= 3 and rng.random() < 0.03:
        c.new_phone = (rng.randint(1, w.days - 1), w.device(rng, "phone"))


def build_world(seed: int, customers: int, start: datetime, days: int) -> World:
    """``customers`` genuine customers spread over the home cities (by their weights), the
    shops they use, and the online shops everyone can reach."""
    rng = stream(seed, "world")
    countries = sorted({c.country for c in HOME_CITIES + FAR_CITIES})
    w = World(seed, start, days, [], {}, [], {cc: i for i, cc in enumerate(countries)})
    homes = rng.choices(HOME_CITIES, weights=[c.weight for c in HOME_CITIES], k=customers)
    per_city = {c.code: 0 for c in HOME_CITIES}
    for home in homes:
        per_city[home.code] += 1
    for c in HOME_CITIES:
        w.shops[c.code] = city_shops(rng, c, max(len(SHOPS), per_city[c.code] // 5))
    for c in FAR_CITIES:
        w.shops[c.code] = city_shops(rng, c, len(SHOPS))
    web_count = max(2 * len(WEB_SHOPS), customers // 40)
    web_cats = list(WEB_SHOPS) * 2
    web_cats += rng.choices(WEB_SHOPS, weights=[s.weight for s in WEB_SHOPS], k=web_count)
    w.web_shops = [online_shop(rng, cat, n) for n, cat in enumerate(web_cats[:web_count], 1)]
    for home in homes:
        # A few genuine customers join during the simulation, like the synthetic ones do.
        onboard = rng.randint(1, days - 1) if days > 2 and rng.random() < 0.03 else None
        customer = new_customer(rng, w, home, onboard)
        _plans(rng, w, customer)
        w.customers.append(customer)
    return w
