"""Which names a decision screens, whom they belong to (for suppressions), and a search
request checked field by field."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from riskloop.errors import FieldError, InvalidInput
from riskloop.screening.match import Match, Query
from riskloop.screening.model import EntityKind
from riskloop.screening.records import pep_programs, safe_query, subject_of_kyc


def is_pep(match: Match | Mapping[str, Any]) -> bool:
    programs = match.entry.programs if isinstance(match, Match) else match.get("programs", ())
    return pep_programs(programs)


def party(path: str, data: Mapping[str, Any]) -> str | None:
    """Whom a screened name belongs to, for suppressions: the customer for their own names,
    ``payee:<id>`` for a counterparty (a customer's not-a-match never covers their payees)."""
    if path == "payee.name":
        payee_id = (data.get("payee") or {}).get("id")
        return f"payee:{payee_id}" if payee_id else None
    customer = data.get("customer_id")
    return str(customer) if customer else None


# The event types whose names a decision screens (see event_subjects).
SCREENED_TYPES = frozenset({"transfer", "account_change", "kyc_record", "credit_application"})
_PAYEE_KIND = {"individual": EntityKind.PERSON, "business": EntityKind.ORGANIZATION}


def event_subjects(event_type: str, data: Mapping[str, Any]) -> Iterable[tuple[str, Query]]:
    """The names a decision screens: a transfer's payee, a new payee or name on an account
    change, the person or business at onboarding (kyc_record), a credit applicant."""
    payee = data.get("payee") or {}
    kind = _PAYEE_KIND.get(payee.get("kind") or "")
    q = (
        safe_query(payee["name"], kind, None, payee.get("bank_country"))
        if payee.get("name")
        else None
    )
    if q is not None:
        yield "payee.name", q
    q = safe_query(data["new_name"], EntityKind.PERSON) if data.get("new_name") else None
    if event_type == "account_change" and q is not None:
        yield "new_name", q
    if event_type == "kyc_record":
        subject = subject_of_kyc(data)
        if subject is not None:
            path = "business.legal_name" if subject.kind is EntityKind.ORGANIZATION else "person"
            for q in subject.queries():
                yield path, q
    if event_type == "credit_application":
        applicant = subject_of_kyc({"subject": "person", "person": data.get("applicant")})
        for q in applicant.queries() if applicant is not None else ():
            yield "applicant", q


_DOB = re.compile(r"^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
QUERY_FIELDS = frozenset({"name", "kind", "date_of_birth", "country", "identifiers"})


def parse_query(doc: Mapping[str, Any]) -> Query:
    """A search request's fields as a Query; InvalidInput names every bad field."""
    errors: list[FieldError] = []
    name = doc.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        errors.append(FieldError("name", "a name of 1 to 200 characters"))
    kind = doc.get("kind")
    if kind is not None and kind not in {k.value for k in EntityKind}:
        errors.append(FieldError("kind", f"one of {', '.join(k.value for k in EntityKind)}"))
    dob = doc.get("date_of_birth")
    if dob is not None and (not isinstance(dob, str) or not _DOB.match(dob)):
        errors.append(FieldError("date_of_birth", "YYYY, YYYY-MM or YYYY-MM-DD"))
    country = doc.get("country")
    if country is not None and (
        not isinstance(country, str) or not _COUNTRY.match(country.upper())
    ):
        errors.append(FieldError("country", "an ISO 3166-1 alpha-2 code, e.g. IR"))
    ids = doc.get("identifiers", [])
    if (
        not isinstance(ids, list)
        or len(ids) > 10
        or not all(isinstance(i, str) and 0 < len(i) <= 64 for i in ids)
    ):
        errors.append(FieldError("identifiers", "a list of at most 10 strings of 1-64 characters"))
    if errors:
        raise InvalidInput(errors)
    assert isinstance(name, str)
    return Query(
        name.strip(),
        EntityKind(kind) if kind else None,
        dob,
        country.upper() if isinstance(country, str) else None,
        tuple(ids),
    )
