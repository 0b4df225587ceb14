"""The shops: card-present merchants with terminals in every city, and online shops, each
with a merchant category code (MCC) and how much a customer typically spends there.

>>> from random import Random
>>> from riskloop.simulate.places import city
>>> shops = city_shops(Random(1), city("PAR"), 20)
>>> len(shops), shops[0].id, shops[0].terminals[0], shops[0].currency
(20, 'm-par-0001', 't-par-0001-1', 'EUR')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from random import Random
from typing import Any

from riskloop.simulate.places import City, near


@dataclass(frozen=True, slots=True)
class Category:
    mcc: str
    noun: str
    weight: float  # how often customers shop there
    spend: float  # times the customer's typical amount


SHOPS: tuple[Category, ...] = (
    Category("5411", "Market", 30, 1.3),
    Category("5499", "Corner Shop", 9, 0.4),
    Category("5812", "Bistro", 12, 1.8),
    Category("5814", "Burgers", 12, 0.5),
    Category("4111", "Transit", 8, 0.2),
    Category("5541", "Fuel", 7, 2.2),
    Category("5912", "Pharmacy", 6, 0.8),
    Category("5651", "Clothing", 5, 2.6),
    Category("5311", "Department Store", 3, 2.8),
    Category("5942", "Books", 2, 1.0),
    Category("5732", "Electronics", 2, 5.0),
    Category("7011", "Hotel", 1, 6.0),
    Category("5944", "Jewellers", 0.3, 8.0),
)
WEB_SHOPS: tuple[Category, ...] = (
    Category("5399", "Marketplace", 20, 1.6),
    Category("5814", "Food Delivery", 10, 1.3),
    Category("5818", "Digital Store", 10, 0.4),
    Category("5691", "Fashion Online", 8, 2.4),
    Category("4899", "Streaming", 4, 0.6),
    Category("5732", "Electronics Online", 3, 5.0),
    Category("4511", "Airline", 1.5, 10.0),
    Category("4722", "Travel", 1.5, 8.0),
    Category("7995", "Betting", 1.5, 1.5),
    Category("8398", "Charity", 1, 1.0),
    Category("5947", "Gift Cards", 0.5, 3.0),
)
_ADJ = (
    "Green", "Royal", "City", "Union", "Central", "Harbour", "Oak", "Bright", "North", "Golden",
    "Corner", "Blue", "Maple", "Star", "River", "Old Town", "Silver", "Park",
)  # fmt: skip
# Where online shops are registered, about as often as customers live there.
_WEB_COUNTRIES = (
    "GB",
    "GB",
    "IE",
    "NL",
    "DE",
    "DE",
    "FR",
    "FR",
    "LU",
    "US",
    "US",
    "US",
    "ES",
    "IT",
)


@dataclass(frozen=True, slots=True)
class Merchant:
    id: str
    name: str
    category: Category
    country: str
    currency: str
    city: City | None  # None: an online shop
    lat: float
    lon: float
    terminals: tuple[str, ...]
    # Events share these objects (read-only once built): a simulation holds every event at once.
    _dicts: dict[str | None, dict[str, Any]] = field(
        default_factory=dict, repr=False, compare=False
    )
    _place: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def place(self) -> dict[str, Any]:
        """The ``geo`` of a card-present payment here."""
        assert self.city is not None, "an online shop has no place"
        if not self._place:
            self._place.update(
                lat=self.lat, lon=self.lon, country=self.country, city=self.city.name
            )
        return self._place

    def as_dict(self, terminal: str | None = None) -> dict[str, Any]:
        """The ``merchant`` object of a card payment (at ``terminal`` if card-present)."""
        if terminal in self._dicts:
            return self._dicts[terminal]
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "mcc": self.category.mcc,
            "country": self.country,
        }
        if self.city is not None:
            out["city"] = self.city.name
        if terminal is not None:
            out["terminal_id"] = terminal
        self._dicts[terminal] = out
        return out


def online_shop(rng: Random, cat: Category, n: int) -> Merchant:
    country = rng.choice(_WEB_COUNTRIES)
    currency = {"US": "USD", "GB": "GBP"}.get(country, "EUR")
    name = f"{rng.choice(_ADJ)} {cat.noun}"
    return Merchant(f"m-web-{n:04d}", name, cat, country, currency, None, 0.0, 0.0, ())


def _shop(rng: Random, cat: Category, c: City, n: int) -> Merchant:
    lat, lon = near(rng, c, 8.0)
    mid = f"m-{c.code.lower()}-{n:04d}"
    terminals = tuple(f"t-{c.code.lower()}-{n:04d}-{k}" for k in range(1, rng.randint(1, 4) + 1))
    name = f"{rng.choice(_ADJ)} {cat.noun}"
    return Merchant(mid, name, cat, c.country, c.currency, c, lat, lon, terminals)


def city_shops(rng: Random, c: City, count: int) -> list[Merchant]:
    """``count`` card-present shops in ``c`` (at least one of each category, so trips and
    fraud always find the shop they look for)."""
    cats = rng.choices(SHOPS, weights=[s.weight for s in SHOPS], k=count)
    cats = list(SHOPS) + cats[len(SHOPS) :]
    return [_shop(rng, cat, c, n) for n, cat in enumerate(cats, start=1)]
