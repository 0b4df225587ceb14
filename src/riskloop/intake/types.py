"""Field types shared by the data contracts: money, countries, identifiers, places, devices.

Money is an integer amount in minor units with an ISO 4217 currency; timestamps must carry a
timezone; countries are ISO 3166-1 alpha-2.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated

import pycountry
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    IPvAnyAddress,
    StringConstraints,
)

from riskloop.domain.sensitivity import PII, PII_MATCH


class Contract(BaseModel):
    """Base of every contract model: unknown fields are rejected, values are not coerced
    across kinds (a number is not a string) and models are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


@cache
def _currencies() -> frozenset[str]:
    return frozenset(c.alpha_3 for c in pycountry.currencies)


@cache
def _countries() -> frozenset[str]:
    return frozenset(c.alpha_2 for c in pycountry.countries)


def _currency(code: str) -> str:
    if code not in _currencies():
        raise ValueError("not an ISO 4217 currency code (e.g. EUR, USD)")
    return code


def _country(code: str) -> str:
    if code not in _countries():
        raise ValueError("not an ISO 3166-1 alpha-2 country code (e.g. DE, US)")
    return code


Id = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:\-]+$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=256)]
Currency = Annotated[
    str,
    StringConstraints(to_upper=True, pattern=r"^[A-Za-z]{3}$"),
    AfterValidator(_currency),
]
Country = Annotated[
    str,
    StringConstraints(to_upper=True, pattern=r"^[A-Za-z]{2}$"),
    AfterValidator(_country),
]


def reject_bool(value: object) -> object:
    # Lax mode turns "4599" from a CSV cell into 4599, as wanted, but also true into 1.
    if isinstance(value, bool):
        raise ValueError("expected an integer amount in minor units, not true or false")
    return value


AmountMinor = Annotated[
    int,
    BeforeValidator(reject_bool),
    Field(ge=0, le=10**15, description="amount in minor units"),
]
Timestamp = AwareDatetime
Mcc = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")]
IpAddress = IPvAnyAddress

Name = Annotated[str, StringConstraints(min_length=1, max_length=200), PII]
Email = Annotated[
    str,
    StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
    PII_MATCH,
]
Phone = Annotated[
    str, StringConstraints(max_length=32, pattern=r"^\+?[0-9 ().\-]{5,31}$"), PII_MATCH
]
DocumentNumber = Annotated[str, StringConstraints(min_length=1, max_length=64), PII_MATCH]
AccountNumber = Annotated[
    str, StringConstraints(min_length=4, max_length=34, pattern=r"^[A-Za-z0-9 \-]+$"), PII_MATCH
]


class Geo(Contract):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    country: Country | None = None
    city: Text | None = None


class Device(Contract):
    id: Id | None = Field(default=None, description="the client's device id")
    fingerprint: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None
    user_agent: Annotated[str, StringConstraints(max_length=1024)] | None = None


class Address(Contract):
    line1: Annotated[str, StringConstraints(min_length=1, max_length=200), PII]
    line2: Annotated[str, StringConstraints(max_length=200), PII] | None = None
    city: Annotated[str, StringConstraints(min_length=1, max_length=100), PII]
    postal_code: Annotated[str, StringConstraints(max_length=20), PII] | None = None
    region: Text | None = None
    country: Country


Metadata = dict[
    Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")],
    Annotated[str, StringConstraints(max_length=256)] | int | float | bool,
]
