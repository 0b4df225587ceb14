"""What screening keeps about customers: who they are for matching (the subject), their
KYC/KYB profile, their potential matches (hits) and the analysts' not-a-match decisions
(suppressions).

The subject is PII and is only ever stored sealed by the vault; a hit keeps the list's side
of the match (public data) and the kinds of evidence, never the customer's values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from riskloop.errors import FieldError, InvalidInput
from riskloop.screening.match import Match, Query
from riskloop.screening.model import EntityKind


class SanctionsStatus(StrEnum):
    UNSCREENED = "unscreened"
    CLEAR = "clear"
    POTENTIAL_MATCH = "potential_match"  # an open hit waits for an analyst
    CONFIRMED_MATCH = "confirmed_match"


class HitStatus(StrEnum):
    OPEN = "open"
    CONFIRMED = "confirmed"
    FALSE_POSITIVE = "false_positive"
    CLOSED = "closed"  # the entry left the list or changed before anyone looked


def pep_programs(programs: Iterable[object]) -> bool:
    """Whether a list entry's programmes make it a politically exposed person: the
    FollowTheMoney topic ``role.pep`` (and its sub-topics) or a list's own ``PEP``. One rule
    for decisions, hits and profile statuses."""
    return any(str(p).lower().startswith("role.pep") or str(p).upper() == "PEP" for p in programs)


RISK_RATINGS = ("low", "medium", "high")
# Periodic review cadence by risk rating (days): the usual "high yearly, medium every two
# years, low every three" of risk-based CDD; configurable with RISKLOOP_KYC_REVIEW_DAYS.
DEFAULT_REVIEW_DAYS: Mapping[str, int] = {"high": 365, "medium": 730, "low": 1095}


@dataclass(frozen=True, slots=True)
class Subject:
    """Who a customer is, for matching: sealed at rest, revealed only to screen."""

    kind: EntityKind
    names: tuple[str, ...]
    date_of_birth: str | None = None
    country: str | None = None
    identifiers: tuple[str, ...] = ()

    def queries(self) -> list[Query]:
        """One query per name; a name with nothing to match on (only punctuation) has none."""
        out = []
        for n in self.names:
            q = safe_query(n, self.kind, self.date_of_birth, self.country, self.identifiers)
            if q is not None:
                out.append(q)
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "names": list(self.names),
            "date_of_birth": self.date_of_birth,
            "country": self.country,
            "identifiers": list(self.identifiers),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Subject:
        return cls(
            EntityKind(d["kind"]),
            tuple(d["names"]),
            d.get("date_of_birth"),
            d.get("country"),
            tuple(d.get("identifiers") or ()),
        )


def safe_query(
    name: str,
    kind: EntityKind | None = None,
    date_of_birth: str | None = None,
    country: str | None = None,
    identifiers: tuple[str, ...] = (),
) -> Query | None:
    """A query from data a contract already accepted, or None when the matcher cannot use
    it: a payee called "-" is valid input to a decision, just not screenable. Evidence it
    cannot read is dropped rather than the name."""
    try:
        return Query(name, kind, date_of_birth, country, identifiers)
    except InvalidInput:
        pass
    try:
        return Query(name, kind)
    except InvalidInput:
        return None


def subject_of_kyc(record: Mapping[str, Any]) -> Subject | None:
    """The subject of a revealed ``kyc_record`` event's data (None without a name)."""
    if record.get("subject") == "business":
        b = record.get("business") or {}
        if not b.get("legal_name"):
            return None
        reg = b.get("registration_number")
        return Subject(
            EntityKind.ORGANIZATION,
            (b["legal_name"],),
            None,
            b.get("country"),
            (reg,) if reg else (),
        )
    p = record.get("person") or {}
    name = " ".join(x for x in (p.get("first_name"), p.get("last_name")) if x)
    if not name:
        return None
    doc = (p.get("document") or {}).get("number")
    dob = p.get("date_of_birth")
    return Subject(
        EntityKind.PERSON,
        (name,),
        str(dob) if dob else None,
        p.get("nationality"),
        (doc,) if doc else (),
    )


@dataclass(frozen=True, slots=True)
class KycProfile:
    customer_id: str
    subject_kind: str  # person, business
    event_id: str  # the kyc_record it was projected from
    occurred_at: datetime
    verification_status: str
    risk_rating: str | None
    document_check: Mapping[str, Any] | None
    next_review_at: datetime | None
    sanctions_status: SanctionsStatus = SanctionsStatus.UNSCREENED
    pep_status: SanctionsStatus = SanctionsStatus.UNSCREENED
    screened: Mapping[str, int] = field(default_factory=dict)  # source -> list version
    screened_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 0
    row_id: int | None = None

    def with_(self, **changes: Any) -> KycProfile:
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "subject": self.subject_kind,
            "event_id": self.event_id,
            "occurred_at": self.occurred_at.isoformat(),
            "verification_status": self.verification_status,
            "risk_rating": self.risk_rating,
            "document_check": dict(self.document_check) if self.document_check else None,
            "next_review_at": self.next_review_at.isoformat() if self.next_review_at else None,
            "sanctions_status": self.sanctions_status.value,
            "pep_status": self.pep_status.value,
            "screened": dict(self.screened),
            "screened_at": self.screened_at.isoformat() if self.screened_at else None,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
            "version": self.version,
        }


def parse_review_days(raw: str) -> dict[str, int]:
    """``"high=365,medium=730,low=1095"`` -> days by rating; InvalidInput names the part."""
    out = dict(DEFAULT_REVIEW_DAYS)
    for part in (p.strip() for p in raw.split(",") if p.strip()):
        rating, _, days = part.partition("=")
        if rating.strip() not in RISK_RATINGS or not days.strip().isdigit():
            raise InvalidInput(
                [
                    FieldError(
                        "kyc_review_days",
                        f"{part!r}: expected rating=days, rating in {', '.join(RISK_RATINGS)}",
                    )
                ]
            )
        out[rating.strip()] = int(days)
    return out


def next_review(
    record: Mapping[str, Any], occurred_at: datetime, days: Mapping[str, int]
) -> datetime | None:
    """When the customer is due for review: the date the record gives, else the cadence of
    its risk rating from when it was verified; unverified records are reviewed as they come."""
    given = record.get("next_review_on")
    if given:
        d = given if isinstance(given, date) else date.fromisoformat(str(given))
        return datetime(d.year, d.month, d.day, tzinfo=occurred_at.tzinfo)
    rating = record.get("risk_rating")
    if record.get("verification_status") != "verified" or not isinstance(rating, str):
        return None
    cadence = days.get(rating)
    return occurred_at + timedelta(days=cadence) if cadence is not None else None


@dataclass(frozen=True, slots=True)
class Hit:
    customer_id: str
    source: str
    entry_id: str
    entry_digest: str
    list_version: int
    score: float
    match: Mapping[str, Any]  # list side and evidence kinds only
    status: HitStatus = HitStatus.OPEN
    first_seen_at: datetime | None = None
    updated_at: datetime | None = None
    resolved_by: str | None = None
    task_id: str | None = None
    id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "customer_id": self.customer_id,
            "source": self.source,
            "entry_id": self.entry_id,
            "list_version": self.list_version,
            "score": self.score,
            "status": self.status.value,
            "match": dict(self.match),
            "first_seen_at": self.first_seen_at.isoformat() if self.first_seen_at else None,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
            "resolved_by": self.resolved_by,
            "task_id": self.task_id,
        }


def stored_match(match: Match) -> dict[str, Any]:
    """What a hit keeps of a match: the list's side and how the evidence went, not the
    customer's values (the explanation quotes them, so it is left out)."""
    e = match.entry
    return {
        "source": e.source,
        "entry_id": e.entry_id,
        "kind": e.kind.value,
        "name": e.name,
        "matched_name": match.matched_name,
        "programs": list(e.programs),
        "score": match.score,
        "name_score": match.name_score,
        "evidence": [{"kind": v.kind, "effect": v.effect} for v in match.evidence],
    }


@dataclass(frozen=True, slots=True)
class Suppression:
    customer_id: str
    source: str
    entry_id: str
    entry_digest: str
    author: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    note: str | None = None  # revealed only when read for a person
    id: int | None = None

    def active(self, digest: str, now: datetime) -> bool:
        return (
            self.revoked_at is None
            and self.entry_digest == digest
            and (self.expires_at is None or self.expires_at > now)
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "customer_id": self.customer_id,
            "source": self.source,
            "entry_id": self.entry_id,
            "author": self.author,
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "revoked_by": self.revoked_by,
            "note": self.note,
        }
