"""The value types of a search: what is screened (``Query``), where the caller draws the
lines (``Thresholds``), and what comes back (``Match``, with its ``Evidence``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from riskloop.errors import FieldError, InvalidInput
from riskloop.screening.countries import country_code
from riskloop.screening.evidence import Evidence
from riskloop.screening.model import EntityKind, ListEntry
from riskloop.screening.normalize import fold

MAX_NAME = 1_000  # the longest listed name has 324 characters
_DATE = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$")


@dataclass(frozen=True, slots=True)
class Query:
    """Who is screened. ``date_of_birth`` is "YYYY", "YYYY-MM" or "YYYY-MM-DD";
    ``country`` an alpha-2 code or a country name."""

    name: str
    kind: EntityKind | None = None
    date_of_birth: str | None = None
    country: str | None = None
    identifiers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not fold(self.name):
            raise InvalidInput([FieldError("name", "must contain letters or digits")])
        if len(self.name) > MAX_NAME:
            raise InvalidInput([FieldError("name", f"longer than {MAX_NAME} characters")])
        if self.kind is not None and not isinstance(self.kind, EntityKind):
            try:
                object.__setattr__(self, "kind", EntityKind(self.kind))
            except ValueError:
                kinds = ", ".join(k.value for k in EntityKind)
                raise InvalidInput([FieldError("kind", f"must be one of {kinds}")]) from None
        if self.date_of_birth and not _DATE.match(self.date_of_birth):
            raise InvalidInput([FieldError("date_of_birth", "must be YYYY, YYYY-MM or YYYY-MM-DD")])
        if self.country and country_code(self.country) is None:
            raise InvalidInput([FieldError("country", f"unknown country {self.country!r}")])
        if isinstance(self.identifiers, str):
            object.__setattr__(self, "identifiers", (self.identifiers,))


@dataclass(frozen=True, slots=True)
class Thresholds:
    """``alert``: a match at or above it is a hit for an analyst; below ``ignore`` it is
    not worth showing."""

    alert: float = 0.70
    ignore: float = 0.50

    def __post_init__(self) -> None:
        for name in ("alert", "ignore"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                raise InvalidInput([FieldError(name, "must be a number from 0 to 1")])
        if self.ignore > self.alert:
            raise InvalidInput([FieldError("ignore", "must not be above alert")])

    def level(self, score: float) -> str:
        """ "alert", "review" (between the two) or "ignore"."""
        if score >= self.alert:
            return "alert"
        return "review" if score >= self.ignore else "ignore"


@dataclass(frozen=True, slots=True)
class Match:
    entry: ListEntry
    score: float  # in [0, 1], 4 decimals
    name_score: float
    matched_name: str  # the list name or alias that matched best, as published
    evidence: tuple[Evidence, ...]
    explanation: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.entry.source,
            "entry_id": self.entry.entry_id,
            "kind": self.entry.kind.value,
            "name": self.entry.name,
            "matched_name": self.matched_name,
            "score": self.score,
            "name_score": self.name_score,
            "evidence": [e.as_dict() for e in self.evidence],
            "explanation": self.explanation,
            "programs": list(self.entry.programs),
        }
