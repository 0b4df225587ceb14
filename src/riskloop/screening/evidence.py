"""What besides the name says a match is (or is not) the listed party: date of birth,
country, identifier numbers and the kind of party.

Each piece moves the name score: support closes part of the gap to 1, conflict subtracts.
An identical identifier is near-proof (score -> at least ~0.9 whatever the name);
a date of birth two to four years from every listed one takes 0.15 off, five or more 0.3
(so only a perfect name still reaches 0.7), a person matched against an organisation 0.2.
Nothing is said when the list or the query has no value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from riskloop.screening.model import EntityKind, ListEntry

SUPPORTS, CONFLICTS, NEUTRAL = "supports", "conflicts", "neutral"

IDENTIFIER_GAP = 0.1  # an identical identifier leaves a tenth of the gap to 1
DOB_EXACT_GAIN, DOB_YEAR_GAIN = 0.3, 0.15  # shares of the gap to 1 closed
# taken off for a date of birth 2-4 years from every listed one, 5 or more, the same year
DOB_CONFLICT, DOB_FAR_CONFLICT, DOB_SAME_YEAR_CONFLICT = 0.15, 0.3, 0.05
COUNTRY_GAIN, COUNTRY_CONFLICT = 0.1, 0.05
KIND_CONFLICT, KIND_NEAR_CONFLICT = 0.2, 0.1
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True, slots=True)
class Evidence:
    kind: str  # name | date_of_birth | country | identifier | kind
    effect: str  # supports | conflicts | neutral
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "effect": self.effect, "detail": self.detail}


def _dob_rank(query: str, listed: str) -> int:
    """0 same full date, 1 same as far as both go (year, or year and month), 2 close (a
    year apart, or day and month swapped), 3 same year but another day, 4 different."""
    year_gap = abs(int(listed[:4]) - int(query[:4]))
    common = min(len(listed), len(query))
    if year_gap == 0 and listed[:common] == query[:common]:
        return 0 if common == 10 else 1
    if year_gap == 0 and common == 10 and (listed[5:7], listed[8:10]) == (query[8:10], query[5:7]):
        return 2  # US vs European order
    if year_gap == 0:
        return 3
    return 2 if year_gap == 1 else 4  # "circa", or a birthday recorded a year off


def _dob(query: str, listed: Sequence[str]) -> tuple[Evidence, float, float]:
    """(evidence, share of the gap to 1 closed, amount taken off) for the closest date."""
    rank, closest = min((_dob_rank(query, d), d) for d in listed)
    if rank == 0:
        return (
            Evidence("date_of_birth", SUPPORTS, f"date of birth {query} matches"),
            DOB_EXACT_GAIN,
            0.0,
        )
    if rank == 1:
        shown = query if len(query) <= len(closest) else closest
        return (
            Evidence("date_of_birth", SUPPORTS, f"date of birth {shown} matches"),
            DOB_YEAR_GAIN,
            0.0,
        )
    if rank == 2:
        return (
            Evidence("date_of_birth", NEUTRAL, f"date of birth {query} close to {closest}"),
            0.0,
            0.0,
        )
    if rank == 3:
        detail = f"date of birth {query} differs from {closest}"
        return Evidence("date_of_birth", CONFLICTS, detail), 0.0, DOB_SAME_YEAR_CONFLICT
    years = ", ".join(sorted({d[:4] for d in listed})[:6])
    detail = f"date of birth {query} vs listed {years}"
    gap = min(abs(int(d[:4]) - int(query[:4])) for d in listed)
    return (
        Evidence("date_of_birth", CONFLICTS, detail),
        0.0,
        (DOB_FAR_CONFLICT if gap >= 5 else DOB_CONFLICT),
    )


def _identifiers(query: Sequence[str], listed: Sequence[str]) -> str | None:
    """The listed number equal to one of the query's (ignoring a letter prefix such as
    "IMO" when six or more digits remain), or None."""
    for q in query:
        for d in listed:
            if q == d:
                return d
            qd, dd = q.lstrip(_LETTERS), d.lstrip(_LETTERS)
            if len(qd) >= 6 and qd == dd:
                return d
    return None


def weigh(
    score: float,
    entry: ListEntry,
    *,
    kind: EntityKind | None,
    date_of_birth: str | None,
    country: str | None,
    identifiers: Sequence[str],
) -> tuple[float, list[Evidence]]:
    """The name score moved by the other evidence, clamped to [0, 1], and the evidence."""
    found: list[Evidence] = []
    if kind not in (None, EntityKind.UNKNOWN) and entry.kind is not EntityKind.UNKNOWN:
        if kind is entry.kind:
            found.append(Evidence("kind", SUPPORTS, f"both {kind.value}"))
        elif EntityKind.PERSON in (kind, entry.kind):
            found.append(Evidence("kind", CONFLICTS, f"{kind.value} vs listed {entry.kind}"))
            score -= KIND_CONFLICT
        else:
            found.append(Evidence("kind", CONFLICTS, f"{kind.value} vs listed {entry.kind}"))
            score -= KIND_NEAR_CONFLICT
    if date_of_birth and entry.dates_of_birth:
        ev, gain, loss = _dob(date_of_birth, entry.dates_of_birth)
        found.append(ev)
        score = score + (1 - score) * gain - loss
    if country and entry.countries:
        if country in entry.countries:
            found.append(Evidence("country", SUPPORTS, f"country {country} listed"))
            score += (1 - score) * COUNTRY_GAIN
        else:
            listed = ", ".join(entry.countries[:5])
            found.append(Evidence("country", CONFLICTS, f"country {country} vs listed {listed}"))
            score -= COUNTRY_CONFLICT
    if identifiers and entry.identifiers:
        same = _identifiers(identifiers, entry.identifiers)
        if same:
            found.append(Evidence("identifier", SUPPORTS, f"identifier {same} identical"))
            score = 1 - (1 - max(score, 0.0)) * IDENTIFIER_GAP
        else:
            found.append(Evidence("identifier", NEUTRAL, "no identifier in common"))
    return min(1.0, max(0.0, score)), found
