"""List entries: digest, dict round trip, snapshot diffs."""

from __future__ import annotations

import dataclasses

import pytest

from riskloop.errors import InvalidInput
from riskloop.screening import Alias, EntityKind, ListDiff, ListEntry, diff

ENTRY = ListEntry(
    "ofac_sdn",
    "306",
    EntityKind.ORGANIZATION,
    "BANCO NACIONAL DE CUBA",
    aliases=(Alias("NATIONAL BANK OF CUBA"), Alias("BNC", "weak")),
    countries=("CH", "ES"),
    programs=("CUBA",),
    remarks="a.k.a. 'BNC'.",
)


def test_digest_is_stable_and_changes_with_any_content() -> None:
    assert ENTRY.digest() == dataclasses.replace(ENTRY).digest()
    assert len(ENTRY.digest()) == 64
    changes = [
        {"name": "BANCO NACIONAL DE CUBA S.A."},
        {"aliases": (Alias("NATIONAL BANK OF CUBA"), Alias("BNC", "strong"))},
        {"countries": ("CH",)},
        {"identifiers": ("123456",)},
        {"dates_of_birth": ("1950",)},
        {"programs": ("CUBA", "SDGT")},
        {"remarks": ""},
        {"kind": EntityKind.UNKNOWN},
    ]
    digests = {dataclasses.replace(ENTRY, **c).digest() for c in changes}  # type: ignore[arg-type]
    assert len(digests) == len(changes) and ENTRY.digest() not in digests


def test_as_dict_round_trips() -> None:
    d = ENTRY.as_dict()
    assert d["aliases"] == [
        {"name": "NATIONAL BANK OF CUBA", "strength": "strong"},
        {"name": "BNC", "strength": "weak"},
    ]
    assert ListEntry.from_dict(d) == ENTRY
    assert ENTRY.names == ("BANCO NACIONAL DE CUBA", "NATIONAL BANK OF CUBA", "BNC")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "robot"}, "kind"),
        ({"name": ""}, "name"),
        ({"aliases": [{"strength": "weak"}]}, "aliases[0]"),
        ({"countries": "CH"}, "countries"),
        ({"identifiers": [1]}, "identifiers"),
    ],
)
def test_from_dict_names_the_bad_field(change: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        ListEntry.from_dict({**ENTRY.as_dict(), **change})
    assert err.value.field == field


def test_alias_strength_is_strong_or_weak() -> None:
    with pytest.raises(InvalidInput):
        Alias("X", "medium")


def test_diff_sorts_added_removed_and_changed_ids() -> None:
    old = {"10": "a", "2": "b", "3": "c", "4": "d"}
    new = {"2": "b", "3": "X", "4": "Y", "11": "e", "1": "f"}
    d = diff(old, new)
    assert d == ListDiff(added=("1", "11"), removed=("10",), changed=("3", "4"))
    assert d.as_dict() == {
        "added": 2,
        "removed": 1,
        "changed": 2,
        "added_ids": ["1", "11"],
        "removed_ids": ["10"],
        "changed_ids": ["3", "4"],
    }
    assert diff(new, new) == ListDiff((), (), ())


def test_diff_of_real_snapshots_follows_entry_content(ofac: list[ListEntry]) -> None:
    before = {e.entry_id: e.digest() for e in ofac}
    edited = [
        dataclasses.replace(e, remarks=e.remarks + " x") if e.entry_id == "306" else e
        for e in ofac[1:]
    ]
    after = {e.entry_id: e.digest() for e in edited}
    d = diff(before, after)
    assert d.removed == (ofac[0].entry_id,) and d.changed == ("306",) and d.added == ()
