"""The map the simulated world lives on: real cities with their country, currency and time
zone, rough exchange rates, and great-circle distances.

Home cities are where customers live and shop (mostly the EU, the UK and the US); far cities
are only visited by stolen cards and account takeovers. Offsets are standard time: the
simulator has no daylight saving, which moves a daily rhythm by an hour at most.

>>> london, paris = city("LON"), city("PAR")
>>> round(distance_km(london.lat, london.lon, paris.lat, paris.lon))
344
>>> to_minor(10.0, "GBP")
850
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from random import Random


@dataclass(frozen=True, slots=True)
class City:
    code: str  # three letters, used in merchant ids
    name: str
    country: str
    lat: float
    lon: float
    utc_offset: int  # hours east of UTC, standard time
    currency: str
    weight: float  # share of the customers who live there (0: nobody does)


def _c(
    code: str, name: str, country: str, lat: float, lon: float, off: int, cur: str, w: float
) -> City:
    return City(code, name, country, lat, lon, off, cur, w)


HOME_CITIES: tuple[City, ...] = (
    _c("LON", "London", "GB", 51.5074, -0.1278, 0, "GBP", 9),
    _c("MAN", "Manchester", "GB", 53.4808, -2.2426, 0, "GBP", 3),
    _c("BHX", "Birmingham", "GB", 52.4862, -1.8904, 0, "GBP", 2),
    _c("EDI", "Edinburgh", "GB", 55.9533, -3.1883, 0, "GBP", 1.5),
    _c("DUB", "Dublin", "IE", 53.3498, -6.2603, 0, "EUR", 2),
    _c("PAR", "Paris", "FR", 48.8566, 2.3522, 1, "EUR", 7),
    _c("LYS", "Lyon", "FR", 45.7640, 4.8357, 1, "EUR", 2),
    _c("MRS", "Marseille", "FR", 43.2965, 5.3698, 1, "EUR", 1.5),
    _c("BER", "Berlin", "DE", 52.5200, 13.4050, 1, "EUR", 5),
    _c("MUC", "Munich", "DE", 48.1351, 11.5820, 1, "EUR", 3),
    _c("HAM", "Hamburg", "DE", 53.5511, 9.9937, 1, "EUR", 2.5),
    _c("CGN", "Cologne", "DE", 50.9375, 6.9603, 1, "EUR", 2),
    _c("MAD", "Madrid", "ES", 40.4168, -3.7038, 1, "EUR", 4),
    _c("BCN", "Barcelona", "ES", 41.3874, 2.1686, 1, "EUR", 3.5),
    _c("VLC", "Valencia", "ES", 39.4699, -0.3763, 1, "EUR", 1.5),
    _c("ROM", "Rome", "IT", 41.9028, 12.4964, 1, "EUR", 3.5),
    _c("MIL", "Milan", "IT", 45.4642, 9.1900, 1, "EUR", 3.5),
    _c("AMS", "Amsterdam", "NL", 52.3676, 4.9041, 1, "EUR", 3),
    _c("RTM", "Rotterdam", "NL", 51.9244, 4.4777, 1, "EUR", 1.5),
    _c("BRU", "Brussels", "BE", 50.8503, 4.3517, 1, "EUR", 2),
    _c("LIS", "Lisbon", "PT", 38.7223, -9.1393, 0, "EUR", 2),
    _c("VIE", "Vienna", "AT", 48.2082, 16.3738, 1, "EUR", 2),
    _c("HEL", "Helsinki", "FI", 60.1699, 24.9384, 2, "EUR", 1),
    _c("NYC", "New York", "US", 40.7128, -74.0060, -5, "USD", 8),
    _c("CHI", "Chicago", "US", 41.8781, -87.6298, -6, "USD", 4),
    _c("LAX", "Los Angeles", "US", 34.0522, -118.2437, -8, "USD", 5),
    _c("SFO", "San Francisco", "US", 37.7749, -122.4194, -8, "USD", 2.5),
    _c("AUS", "Austin", "US", 30.2672, -97.7431, -6, "USD", 2),
    _c("MIA", "Miami", "US", 25.7617, -80.1918, -5, "USD", 2.5),
    _c("BOS", "Boston", "US", 42.3601, -71.0589, -5, "USD", 2),
    _c("SEA", "Seattle", "US", 47.6062, -122.3321, -8, "USD", 2),
    _c("DEN", "Denver", "US", 39.7392, -104.9903, -7, "USD", 1.5),
)

FAR_CITIES: tuple[City, ...] = (
    _c("LOS", "Lagos", "NG", 6.5244, 3.3792, 1, "NGN", 0),
    _c("BKK", "Bangkok", "TH", 13.7563, 100.5018, 7, "THB", 0),
    _c("MNL", "Manila", "PH", 14.5995, 120.9842, 8, "PHP", 0),
    _c("SAO", "Sao Paulo", "BR", -23.5505, -46.6333, -3, "BRL", 0),
    _c("MEX", "Mexico City", "MX", 19.4326, -99.1332, -6, "MXN", 0),
    _c("DXB", "Dubai", "AE", 25.2048, 55.2708, 4, "AED", 0),
    _c("BUH", "Bucharest", "RO", 44.4268, 26.1025, 2, "RON", 0),
    _c("JKT", "Jakarta", "ID", -6.2088, 106.8456, 7, "IDR", 0),
    _c("JNB", "Johannesburg", "ZA", -26.2041, 28.0473, 2, "ZAR", 0),
    _c("KUL", "Kuala Lumpur", "MY", 3.1390, 101.6869, 8, "MYR", 0),
)

# Units of each currency per euro: rough, fixed rates (amounts only need the right scale).
FX_PER_EUR: dict[str, float] = {
    "EUR": 1.0,
    "GBP": 0.85,
    "USD": 1.08,
    "NGN": 1650.0,
    "THB": 38.0,
    "PHP": 62.0,
    "BRL": 5.6,
    "MXN": 18.5,
    "AED": 3.97,
    "RON": 4.97,
    "IDR": 17500.0,
    "ZAR": 20.0,
    "MYR": 5.1,
}

_BY_CODE = {c.code: c for c in HOME_CITIES + FAR_CITIES}


def city(code: str) -> City:
    return _BY_CODE[code]


def near(rng: Random, c: City, km: float) -> tuple[float, float]:
    """A point within about ``km`` of ``c``'s centre (4 decimals: about 10 metres)."""
    dlat = rng.uniform(-km, km) / 111.0
    dlon = rng.uniform(-km, km) / (111.0 * max(0.2, math.cos(math.radians(c.lat))))
    return round(c.lat + dlat, 4), round(c.lon + dlon, 4)


def to_minor(eur: float, currency: str) -> int:
    """An amount given in euros, in minor units of ``currency`` (every currency here has
    two decimals); never below one minor unit."""
    return max(1, round(eur * FX_PER_EUR[currency] * 100))


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance on a sphere of the Earth's mean radius."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


def city_distance(a: City, b: City) -> float:
    return distance_km(a.lat, a.lon, b.lat, b.lon)
