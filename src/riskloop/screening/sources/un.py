"""The UN Security Council consolidated list (XML): INDIVIDUALS/INDIVIDUAL and
ENTITIES/ENTITY records.

Read with ``ElementTree.iterparse``, clearing each record once read, so memory stays flat
whatever the file's size. ElementTree never fetches external entities, and the expat that
Python 3.11 ships with (2.4+) refuses exponential entity expansion ("billion laughs"), so a
hostile file fails to parse instead of eating the machine.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from riskloop.screening.countries import country_code
from riskloop.screening.model import Alias, EntityKind, ListEntry
from riskloop.screening.sources._common import bad, date_prefix, identifier, unique, year_range

SOURCE = "un"
_NAME_PARTS = ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")
_WEAK_QUALITIES = frozenset({"low", "f.k.a."})
_QUOTES = " \"'\u201c\u201d\u2018\u2019\u00ab\u00bb"


def _text(elem: ET.Element | None) -> str:
    return " ".join((elem.text or "").split()) if elem is not None else ""


def _aliases(record: ET.Element, tag: str, dates: list[str]) -> list[Alias]:
    out = []
    original = _text(record.find("NAME_ORIGINAL_SCRIPT"))
    if original:
        out.append(Alias(original))
    for alias in record.iter(tag):
        name = _text(alias.find("ALIAS_NAME")).strip(_QUOTES)
        if not name:
            continue
        quality = _text(alias.find("QUALITY")).casefold()
        out.append(Alias(name, "weak" if quality in _WEAK_QUALITIES else "strong"))
        dob = date_prefix(_text(alias.find("DATE_OF_BIRTH")))
        if dob:
            dates.append(dob)
    return out


def _dates(record: ET.Element, dates: list[str]) -> None:
    for dob in record.iter("INDIVIDUAL_DATE_OF_BIRTH"):
        date, year = _text(dob.find("DATE")), _text(dob.find("YEAR"))
        first, last = _text(dob.find("FROM_YEAR")), _text(dob.find("TO_YEAR"))
        if date and (d := date_prefix(date)):
            dates.append(d)
        elif year.isdigit() and len(year) == 4:
            dates.append(year)
        elif first.isdigit() and last.isdigit():
            dates += year_range(int(first), int(last))


def _entry(path: Path, number: int, record: ET.Element) -> ListEntry:
    data_id = _text(record.find("DATAID"))
    if not data_id:
        raise bad(path, f"record {number}", f"{record.tag} without DATAID")
    name = " ".join(p for p in (_text(record.find(t)) for t in _NAME_PARTS) if p)
    if not name:
        raise bad(path, f"record {number}", f"{record.tag} {data_id} has no name")
    person = record.tag == "INDIVIDUAL"
    dates: list[str] = []
    aliases = _aliases(record, "INDIVIDUAL_ALIAS" if person else "ENTITY_ALIAS", dates)
    _dates(record, dates)
    places = [_text(v) for n in record.iter("NATIONALITY") for v in n.iter("VALUE")]
    address = "INDIVIDUAL_ADDRESS" if person else "ENTITY_ADDRESS"
    places += [_text(a.find("COUNTRY")) for a in record.iter(address)]
    countries = [country_code(p, codes=False) or "" for p in places if p]
    numbers = [identifier(_text(d.find("NUMBER"))) for d in record.iter("INDIVIDUAL_DOCUMENT")]
    seen = {name}
    unique_aliases = []
    for a in aliases:
        if a.name not in seen:
            seen.add(a.name)
            unique_aliases.append(a)
    return ListEntry(
        source=SOURCE,
        entry_id=data_id,
        kind=EntityKind.PERSON if person else EntityKind.ORGANIZATION,
        name=name,
        aliases=tuple(unique_aliases),
        dates_of_birth=unique(dates),
        countries=unique(countries),
        identifiers=unique(numbers),
        programs=unique([_text(record.find("UN_LIST_TYPE"))]),
        remarks=_text(record.find("COMMENTS1")),
    )


def load_un(path: Path) -> list[ListEntry]:
    """Every individual and entity of the consolidated list."""
    entries: list[ListEntry] = []
    number = 0
    try:
        for _, elem in ET.iterparse(path, events=("end",)):  # noqa: S314 (see the docstring)
            if elem.tag in ("INDIVIDUAL", "ENTITY"):
                number += 1
                entries.append(_entry(path, number, elem))
                elem.clear()
    except ET.ParseError as exc:
        line, column = exc.position
        raise bad(path, line, f"not well-formed XML (column {column}): {exc}") from None
    except FileNotFoundError:
        raise bad(path, 0, "no such file") from None
    except OSError as exc:
        raise bad(path, 0, f"cannot read: {exc.strerror}") from None
    if number == 0:
        raise bad(path, 1, "no INDIVIDUAL or ENTITY records: not a UN consolidated list")
    return entries
