"""OFAC's SDN list in its legacy CSV files (sdn.csv, alt.csv, add.csv, sdn_comments.csv).

The files have no header. ``-0-`` means empty. The primary name and each a.k.a. are in
"SURNAME, Given" order for individuals. Dates of birth, nationalities and document numbers
are in the free-text remarks ("DOB 15 Jan 1970; nationality Iran; Passport A123 (Iran)"),
which sdn_comments.csv continues for long entries; the quoted a.k.a.s there are OFAC's weak
aliases.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from riskloop.screening.countries import country_code
from riskloop.screening.model import Alias, EntityKind, ListEntry
from riskloop.screening.sources._common import (
    bad,
    date_prefix,
    identifier,
    read_text,
    unique,
    year_range,
)

SOURCE = "ofac_sdn"
_KINDS = {
    "individual": EntityKind.PERSON,
    "vessel": EntityKind.VESSEL,
    "aircraft": EntityKind.AIRCRAFT,
    "": EntityKind.ORGANIZATION,
}
_ALT_STRENGTH = {"aka": "strong", "nka": "strong", "fka": "weak"}

# Remark labels followed by a document or registration number.
_ID_LABELS = (
    "Passport",
    "Diplomatic Passport",
    "Passport Booklet:",
    "Travel Document Number",
    "Cedula No.",
    "National ID No.",
    "National Foreign ID Number",
    "Personal ID Card",
    "Kenyan ID No.",
    "Turkish Identification Number",
    "Numero de Identidad",
    "Citizen's Card Number",
    "Stateless Person ID Card",
    "Refugee ID Card",
    "Identification Number",
    "Residency Number",
    "Birth Certificate Number",
    "Driver's License No.",
    "Electoral Registry No.",
    "Credencial electoral",
    "Cartilla de Servicio Militar Nacional",
    "VisaNumberID",
    "D.N.I.",
    "SSN",
    "I.F.E.",
    "C.U.R.P.",
    "C.U.R.P. #",
    "C.U.I.P.",
    "C.U.I.T.",
    "C.U.I.",
    "R.F.C.",
    "R.F.C. #",
    "RFC",
    "NIT #",
    "RUC #",
    "RIF #",
    "RTN",
    "Tax ID No.",
    "US FEIN",
    "Italian Fiscal Code",
    "V.A.T. Number",
    "Registration Number",
    "Registration ID",
    "Public Registration Number",
    "Business Registration Number",
    "Business Registration Document #",
    "Business Number",
    "Enterprise Number",
    "Company Number",
    "UK Company Number",
    "Commercial Registry Number",
    "Certificate of Incorporation Number",
    "Chamber of Commerce Number",
    "Dubai Chamber of Commerce Membership No.",
    "Registered Charity No.",
    "Folio Mercantil No.",
    "Matricula Mercantil No",
    "Trade License No.",
    "Government Gazette Number",
    "C.R. No.",
    "D-U-N-S Number",
    "Legal Entity Number",
    "LE Number",
    "Branch Unit Number",
    "File Number",
    "Unified Social Credit Code (USCC)",
    "United Social Credit Code Certificate (USCCC)",
    "Chinese Commercial Code",
    "BIK (RU)",
    "SWIFT/BIC",
    "MMSI",
    "Vessel Registration Identification",
    "Aircraft Manufacturer's Serial Number (MSN)",
    "Aircraft Tail Number",
)
_ID = re.compile(
    r"^(?:"
    + "|".join(re.escape(label) for label in sorted(_ID_LABELS, key=len, reverse=True))
    + r")\s+(?P<value>.+)$"
)
_ID_END = re.compile(r"\s+\(|\s+(?:issued|expires|Issue Date|Expiration Date)\b")
_DOB = re.compile(r"^DOB\s+(?:circa\s+|approximately\s+)?(?P<value>.+)$")
_COUNTRY = re.compile(r"^(?:nationality|citizen)\s+(?P<value>.+)$")
_WEAK_AKA = re.compile(r"^[afn]\.k\.a\.\s*['\u2018\"](?P<value>.+?)['\u2019\"]?$")


@dataclass
class _Draft:
    entry_id: str
    kind: EntityKind
    name: str
    programs: list[str]
    remarks: str
    aliases: list[Alias] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)
    identifiers: list[str] = field(default_factory=list)
    dates: list[str] = field(default_factory=list)


def _rows(path: Path, columns: int) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(read_text(path)))
    try:
        for row in reader:
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) != columns:
                raise bad(path, reader.line_num, f"expected {columns} columns, got {len(row)}")
            values = ["" if c.strip() == "-0-" else c.strip() for c in row]
            if not values[0].isdigit():
                raise bad(path, reader.line_num, f"ent_num {values[0]!r} is not a number")
            yield reader.line_num, values
    except csv.Error as exc:
        raise bad(path, reader.line_num, f"not valid CSV: {exc}") from None


def _programs(text: str) -> list[str]:
    return [p.strip(" []") for p in re.split(r"\]\s*\[", text) if p.strip(" []")]


def _read_remarks(draft: _Draft) -> None:
    """Dates of birth, nationalities, document numbers and weak a.k.a.s from the remarks."""
    for raw in draft.remarks.split(";"):
        part = raw.strip().rstrip(".").strip()
        if part.startswith("alt. "):
            part = part[5:]
        if m := _DOB.match(part):
            ends = [date_prefix(e) for e in re.split(r"\s+to\s+", m["value"], maxsplit=1)]
            if len(ends) == 2 and ends[0] and ends[1]:
                draft.dates += year_range(int(ends[0][:4]), int(ends[1][:4]))
            elif len(ends) == 1 and ends[0]:
                draft.dates.append(ends[0])
        elif m := _COUNTRY.match(part):
            code = country_code(m["value"], codes=False)
            if code:
                draft.countries.append(code)
        elif m := _WEAK_AKA.match(part):
            draft.aliases.append(Alias(m["value"].strip(), "weak"))
        elif m := _ID.match(part):
            value = identifier(_id_value(m["value"]))
            if value:
                draft.identifiers.append(value)


def _id_value(text: str) -> str:
    """The number of "AO 2879097 (Italy) expires 2012" or "181301-1 Cali (Colombia)": up to
    the country, the dates, or the first word in lower case (a city)."""
    chunks = []
    for chunk in _ID_END.split(text, maxsplit=1)[0].split():
        if any(c.islower() for c in chunk):
            break
        chunks.append(chunk)
    return " ".join(chunks)


def load_ofac(
    sdn: Path,
    *,
    alt: Path | None = None,
    add: Path | None = None,
    comments: Path | None = None,
) -> list[ListEntry]:
    """Entries of the SDN list, with alternate names, address countries and the remarks
    continued in the comments file when those files are given."""
    drafts: dict[str, _Draft] = {}
    for line, row in _rows(sdn, 12):
        ent_num, name, sdn_type, program = row[0], row[1], row[2].casefold(), row[3]
        if not name:
            raise bad(sdn, line, "SDN_Name is empty")
        if sdn_type not in _KINDS:
            raise bad(sdn, line, f"unknown SDN_Type {row[2]!r}")
        draft = _Draft(ent_num, _KINDS[sdn_type], name, _programs(program), row[11])
        call_sign, flag = identifier(row[5]), country_code(row[9], codes=False)
        if call_sign:
            draft.identifiers.append(call_sign)
        if flag:
            draft.countries.append(flag)
        drafts[ent_num] = draft
    if comments is not None:
        for _, row in _rows(comments, 2):
            if row[0] in drafts:
                drafts[row[0]].remarks += row[1]
    for draft in drafts.values():
        _read_remarks(draft)
    if alt is not None:
        for line, row in _rows(alt, 5):
            strength = _ALT_STRENGTH.get(row[2].casefold())
            if strength is None:
                raise bad(alt, line, f"unknown alt_type {row[2]!r}")
            if not row[3]:
                raise bad(alt, line, "alt_name is empty")
            if row[0] in drafts:  # an alias of an entry not in this sdn.csv is ignored
                drafts[row[0]].aliases.append(Alias(row[3], strength))
    if add is not None:
        for _, row in _rows(add, 6):
            code = country_code(row[4], codes=False)
            if code and row[0] in drafts:
                drafts[row[0]].countries.append(code)
    return [_entry(d) for d in drafts.values()]


def _entry(d: _Draft) -> ListEntry:
    seen = {d.name}
    aliases = []
    for a in sorted(d.aliases, key=lambda a: a.strength != "strong"):  # strong wins a tie
        if a.name not in seen:
            seen.add(a.name)
            aliases.append(a)
    return ListEntry(
        source=SOURCE,
        entry_id=d.entry_id,
        kind=d.kind,
        name=d.name,
        aliases=tuple(aliases),
        dates_of_birth=unique(d.dates),
        countries=unique(d.countries),
        identifiers=unique(d.identifiers),
        programs=unique(d.programs),
        remarks=d.remarks,
    )
