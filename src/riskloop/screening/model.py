"""What a sanctions list says about one listed party, and how two snapshots of a list differ.

A ``ListEntry`` is source-neutral: the OFAC, UN and FollowTheMoney parsers in
``screening.sources`` all produce it, the matcher reads only it, and its ``digest`` lets the
persistence layer store a list snapshot as ``entry_id -> digest`` and ``diff`` two of them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from riskloop.errors import FieldError, InvalidInput


class EntityKind(StrEnum):
    PERSON = "person"
    ORGANIZATION = "organization"
    VESSEL = "vessel"
    AIRCRAFT = "aircraft"
    UNKNOWN = "unknown"


STRENGTHS = ("strong", "weak")


@dataclass(frozen=True, slots=True)
class Alias:
    """Another name of the entry. ``weak`` marks names the source itself calls low quality
    (OFAC "fka" and the quoted a.k.a.s in remarks, UN quality "Low"): they still match, a
    little lower."""

    name: str
    strength: str = "strong"

    def __post_init__(self) -> None:
        if self.strength not in STRENGTHS:
            raise InvalidInput([FieldError("alias.strength", f"must be one of {STRENGTHS}")])


@dataclass(frozen=True, slots=True)
class ListEntry:
    """One listed party as published by ``source``.

    >>> e = ListEntry("ofac_sdn", "306", EntityKind.ORGANIZATION, "BANCO NACIONAL DE CUBA",
    ...               aliases=(Alias("NATIONAL BANK OF CUBA"),))
    >>> e.names
    ('BANCO NACIONAL DE CUBA', 'NATIONAL BANK OF CUBA')
    >>> ListEntry.from_dict(e.as_dict()) == e and len(e.digest())
    64
    """

    source: str
    entry_id: str
    kind: EntityKind
    name: str
    aliases: tuple[Alias, ...] = ()
    dates_of_birth: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    identifiers: tuple[str, ...] = ()
    programs: tuple[str, ...] = ()
    remarks: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *(a.name for a in self.aliases))

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "entry_id": self.entry_id,
            "kind": self.kind.value,
            "name": self.name,
            "aliases": [{"name": a.name, "strength": a.strength} for a in self.aliases],
            "dates_of_birth": list(self.dates_of_birth),
            "countries": list(self.countries),
            "identifiers": list(self.identifiers),
            "programs": list(self.programs),
            "remarks": self.remarks,
        }

    def digest(self) -> str:
        """sha256 of the canonical JSON form: equal content gives an equal digest, and any
        change of a name, alias, date, country, id, program or remark changes it."""
        canonical = json.dumps(
            self.as_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ListEntry:
        try:
            kind = EntityKind(d.get("kind", "unknown"))
        except ValueError:
            raise InvalidInput([FieldError("kind", f"unknown kind {d.get('kind')!r}")]) from None
        for key in ("source", "entry_id", "name"):
            if not isinstance(d.get(key), str) or not d[key]:
                raise InvalidInput([FieldError(key, "must be a non-empty string")])
        aliases = []
        for i, a in enumerate(d.get("aliases") or ()):
            if isinstance(a, str):
                aliases.append(Alias(a))
            elif isinstance(a, Mapping) and isinstance(a.get("name"), str):
                aliases.append(Alias(a["name"], str(a.get("strength", "strong"))))
            else:
                raise InvalidInput(
                    [FieldError(f"aliases[{i}]", "must be a name or {name, strength}")]
                )
        remarks = d.get("remarks") or ""
        if not isinstance(remarks, str):
            raise InvalidInput([FieldError("remarks", "must be a string")])
        return cls(
            source=d["source"],
            entry_id=d["entry_id"],
            kind=kind,
            name=d["name"],
            aliases=tuple(aliases),
            dates_of_birth=_strings(d, "dates_of_birth"),
            countries=_strings(d, "countries"),
            identifiers=_strings(d, "identifiers"),
            programs=_strings(d, "programs"),
            remarks=remarks,
        )


def _strings(d: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = d.get(key) or ()
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise InvalidInput([FieldError(key, "must be a list of strings")])
    if not all(isinstance(v, str) for v in value):
        raise InvalidInput([FieldError(key, "must be a list of strings")])
    return tuple(value)


@dataclass(frozen=True, slots=True)
class ListDiff:
    """Entry ids added, removed and changed between two snapshots of one list (sorted)."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "added": len(self.added),
            "removed": len(self.removed),
            "changed": len(self.changed),
            "added_ids": list(self.added),
            "removed_ids": list(self.removed),
            "changed_ids": list(self.changed),
        }


def diff(old: Mapping[str, str], new: Mapping[str, str]) -> ListDiff:
    """Compare two ``entry_id -> digest`` maps.

    >>> diff({"1": "a", "2": "b", "3": "c"}, {"2": "b", "3": "x", "4": "d"})
    ListDiff(added=('4',), removed=('1',), changed=('3',))
    """
    return ListDiff(
        added=tuple(sorted(k for k in new if k not in old)),
        removed=tuple(sorted(k for k in old if k not in new)),
        changed=tuple(sorted(k for k in new if k in old and old[k] != new[k])),
    )
