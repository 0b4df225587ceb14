"""FollowTheMoney entities as JSON lines (OpenSanctions' ``entities.ftm.json``).

One object a line: ``{"id", "schema", "properties": {name: [values]}}``. Parties of the
schemas below become entries; the other schemas in such exports (Sanction, Address,
Ownership, ...) are skipped. Countries are lower-case ISO codes there.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from riskloop.screening.countries import country_code
from riskloop.screening.model import Alias, EntityKind, ListEntry
from riskloop.screening.sources._common import bad, date_prefix, identifier, unique

SCHEMAS = {
    "Person": EntityKind.PERSON,
    "Organization": EntityKind.ORGANIZATION,
    "Company": EntityKind.ORGANIZATION,
    "PublicBody": EntityKind.ORGANIZATION,
    "LegalEntity": EntityKind.UNKNOWN,
    "Vessel": EntityKind.VESSEL,
    "Airplane": EntityKind.AIRCRAFT,
}
_COUNTRY_PROPS = ("nationality", "citizenship", "country", "jurisdiction", "flag")
_ID_PROPS = (
    "idNumber",
    "passportNumber",
    "registrationNumber",
    "taxNumber",
    "innCode",
    "ogrnCode",
    "leiCode",
    "swiftBic",
    "imoNumber",
    "mmsi",
    "callSign",
    "serialNumber",
)


def _values(path: Path, line: int, props: Mapping[str, Any], key: str) -> list[str]:
    value = props.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad(path, line, f"properties.{key} must be a list of strings")
    return [" ".join(v.split()) for v in value if v.strip()]


def _entry(path: Path, line: int, obj: Mapping[str, Any], source: str) -> ListEntry | None:
    schema = obj.get("schema")
    if schema not in SCHEMAS:
        return None
    entity_id, props = obj.get("id"), obj.get("properties")
    if not isinstance(entity_id, str) or not entity_id:
        raise bad(path, line, "entity without an id")
    if not isinstance(props, Mapping):
        raise bad(path, line, f"entity {entity_id}: properties must be an object")
    names = _values(path, line, props, "name")
    caption = obj.get("caption")
    primary = caption if isinstance(caption, str) and caption.strip() else None
    primary = primary or (names[0] if names else None)
    if not primary:
        raise bad(path, line, f"entity {entity_id} has no name")
    aliases = [Alias(n) for n in names if n != primary]
    aliases += [Alias(n) for n in _values(path, line, props, "alias")]
    aliases += [Alias(n, "weak") for n in _values(path, line, props, "weakAlias")]
    aliases += [Alias(n, "weak") for n in _values(path, line, props, "previousName")]
    seen = {primary}
    unique_aliases = []
    for a in aliases:
        if a.name not in seen:
            seen.add(a.name)
            unique_aliases.append(a)
    dates = [date_prefix(v) or "" for v in _values(path, line, props, "birthDate")]
    countries = [
        country_code(v) or "" for key in _COUNTRY_PROPS for v in _values(path, line, props, key)
    ]
    ids = [identifier(v) for key in _ID_PROPS for v in _values(path, line, props, key)]
    programs = _values(path, line, props, "program") + _values(path, line, props, "programId")
    topics = _values(path, line, props, "topics")
    return ListEntry(
        source=source,
        entry_id=entity_id,
        kind=SCHEMAS[schema],
        name=primary,
        aliases=tuple(unique_aliases),
        dates_of_birth=unique(dates),
        countries=unique(countries),
        identifiers=unique(ids),
        programs=unique(programs + topics),
        remarks=" ".join(_values(path, line, props, "notes")),
    )


def load_ftm(path: Path, *, source: str = "opensanctions") -> list[ListEntry]:
    """The persons, organisations, vessels and aircraft of a FollowTheMoney export."""
    entries: list[ListEntry] = []
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise bad(path, 0, "no such file") from None
    except OSError as exc:
        raise bad(path, 0, f"cannot read: {exc.strerror}") from None
    with handle:
        for line, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError as exc:
                raise bad(path, line, f"not UTF-8: {exc.reason}") from None
            except json.JSONDecodeError as exc:
                raise bad(path, line, f"not valid JSON: {exc.msg}") from None
            if not isinstance(obj, dict):
                raise bad(path, line, f"expected a JSON object, got {type(obj).__name__}")
            entry = _entry(path, line, obj, source)
            if entry is not None:
                entries.append(entry)
    return entries
