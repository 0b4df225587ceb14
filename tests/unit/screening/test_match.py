"""Matching behaviours: each a case the matcher could get wrong."""

from __future__ import annotations

import pytest

from riskloop.errors import InvalidInput
from riskloop.screening import Alias, EntityKind, Index, ListEntry, Match, Query, Thresholds

PERSON, ORG = EntityKind.PERSON, EntityKind.ORGANIZATION
ALERT = Thresholds().alert

PUTIN = ListEntry(
    "test",
    "putin",
    PERSON,
    "PUTIN, Vladimir Vladimirovich",
    dates_of_birth=("1952-10-07",),
    countries=("RU",),
    identifiers=("P1234567",),
    programs=("RUSSIA-EO14024",),
)
WILLIAM = ListEntry("test", "bill", PERSON, "HARTLEY, William Robert", dates_of_birth=("1961",))
BANK = ListEntry(
    "test", "bank", ORG, "BANCO NACIONAL DE CUBA", aliases=(Alias("NATIONAL BANK OF CUBA"),)
)
VESSEL = ListEntry("test", "ship", EntityKind.VESSEL, "SEA STAR 2")


@pytest.fixture(scope="module")
def small() -> Index:
    filler = [
        ListEntry("test", f"f{i}", PERSON, f"{last}, {first}")
        for i, (first, last) in enumerate(
            [("Ivan", "PETROV"), ("Maria", "GONZALEZ"), ("Ahmed", "KHAN"), ("Wei", "ZHANG")] * 5
        )
    ]
    return Index.build([PUTIN, WILLIAM, BANK, VESSEL, *filler])


def score(index: Index, query: Query, entry_id: str) -> float:
    found = index.search(query, limit=50, min_score=0.0)
    return next((m.score for m in found if m.entry.entry_id == entry_id), 0.0)


# ------------------------------------------------------------------ names that must match


@pytest.mark.parametrize(
    "name",
    [
        "Vladimir Putin",  # reordered, middle name missing
        "PUTIN, Vladimir",
        "Vladimir Vladimirovich Putin",
        "putin vladimir vladimirovich",
        "V. Putin",  # initial
        "V. V. Putin",
        "Vladimir Puttin",  # typo
        "Vladimr Putin",
        "Wladimir Putin",  # transliteration spelling
        "Владимир Путин",  # Cyrillic
        "Mr Vladimir Putin",  # honorific
    ],
)
def test_variants_of_a_listed_name_alert(small: Index, name: str) -> None:
    assert score(small, Query(name), "putin") >= ALERT


def test_exact_name_scores_one_and_reordering_is_explained(small: Index) -> None:
    (m,) = small.search(Query("Vladimir Vladimirovich PUTIN"), limit=1)
    assert m.score == 1.0 and m.name_score == 1.0
    (m,) = small.search(Query("Vladimir Putin"), limit=1)
    assert 0.8 < m.score < 1.0
    assert "middle name missing" in m.explanation
    assert m.matched_name in PUTIN.names


def test_nicknames_match_formal_names(small: Index) -> None:
    assert score(small, Query("Bill Hartley"), "bill") >= ALERT
    assert score(small, Query("Bob Hartley"), "bill") < ALERT  # Robert is his middle name


def test_aliases_match_and_are_named(small: Index) -> None:
    (m,) = small.search(Query("National Bank of Cuba"), limit=1)
    assert m.entry is BANK and m.matched_name == "NATIONAL BANK OF CUBA"
    assert "alias 'NATIONAL BANK OF CUBA'" in m.explanation


def test_legal_forms_are_ignored(small: Index) -> None:
    assert score(small, Query("Banco Nacional de Cuba S.A.", kind=ORG), "bank") == 1.0


# ------------------------------------------------------------------ hard non-matches


@pytest.mark.parametrize(
    ("name", "entry_id"),
    [
        ("Maria Putin", "putin"),  # same surname, another given name
        ("Vladislav Putin", "putin"),
        ("Putin", "putin"),  # a surname alone
        ("Banco Internacional de Cuba", "bank"),  # a sibling company
        ("Banco Nacional de Venezuela", "bank"),
        ("Banco", "bank"),
        ("Sea Star 3", "ship"),  # numbers must be equal
    ],
)
def test_hard_non_matches_stay_below_the_alert(small: Index, name: str, entry_id: str) -> None:
    assert score(small, Query(name), entry_id) < ALERT


def test_real_sibling_bank_stays_below_the_alert(lists_index: Index) -> None:
    found = lists_index.search(
        Query("BANCO INTERNACIONAL DE CUBA", kind=ORG), limit=5, min_score=0.0
    )
    bnc = next(m for m in found if m.entry.entry_id == "306")
    assert bnc.score < ALERT
    assert "'internacional' not in list name" in bnc.explanation


@pytest.mark.parametrize("name", ["Bank", "Ali", "Mohammed", "BNC", "Trading Company", "Al"])
def test_short_or_common_words_alone_do_not_alert_on_the_real_lists(
    lists_index: Index, name: str
) -> None:
    assert lists_index.search(Query(name), min_score=ALERT) == []


# ------------------------------------------------------------------ evidence


def test_conflicting_birth_year_lowers_the_score_noticeably(small: Index) -> None:
    plain = score(small, Query("Vladimir Putin"), "putin")
    other_year = score(small, Query("Vladimir Putin", date_of_birth="1970-01-01"), "putin")
    assert plain - other_year >= 0.15


def test_matching_birth_date_and_country_raise_the_score(small: Index) -> None:
    plain = score(small, Query("Vladimir Putin"), "putin")
    year = score(small, Query("Vladimir Putin", date_of_birth="1952"), "putin")
    exact = score(small, Query("Vladimir Putin", date_of_birth="1952-10-07", country="RU"), "putin")
    assert plain < year < exact <= 1.0
    near = score(small, Query("Vladimir Putin", date_of_birth="1953"), "putin")
    assert near == plain  # a year off is neither support nor conflict
    (m,) = small.search(Query("Vladimir Putin", date_of_birth="1952-10-07"), limit=1)
    assert "date of birth 1952-10-07 matches supports" in m.explanation


def test_identical_identifier_raises_the_score_to_near_one(small: Index) -> None:
    q = Query("V. Putin", identifiers=("p-1234567",))
    assert score(small, q, "putin") >= 0.97
    (m,) = small.search(q, limit=1)
    assert any(e.kind == "identifier" and e.effect == "supports" for e in m.evidence)
    # an identical identifier finds the entry whatever the name
    assert score(small, Query("Totally Different", identifiers=("P1234567",)), "putin") >= 0.9


def test_conflicting_kind_lowers_the_score(small: Index) -> None:
    assert (
        score(small, Query("Vladimir Putin", kind=ORG), "putin")
        < score(small, Query("Vladimir Putin", kind=PERSON), "putin") - 0.15
    )


def test_real_entry_with_real_evidence(lists_index: Index) -> None:
    (m,) = lists_index.search(
        Query("Jorge Milton Cifuentes", kind=PERSON, date_of_birth="1965-05-13", country="CO"),
        limit=1,
    )
    assert m.entry.entry_id == "12300" and m.score > 0.95
    kinds = {e.kind: e.effect for e in m.evidence}
    assert kinds == {
        "name": "supports",
        "kind": "supports",
        "date_of_birth": "supports",
        "country": "supports",
    }


# ------------------------------------------------------------------ the search itself


def test_one_match_per_entry_best_first_within_limits(lists_index: Index) -> None:
    found = lists_index.search(Query("Usama bin Laden"), limit=3)
    assert [m.entry.entry_id for m in found][:1] == ["6365"]
    assert len(found) <= 3
    assert len({(m.entry.source, m.entry.entry_id) for m in found}) == len(found)
    assert [m.score for m in found] == sorted((m.score for m in found), reverse=True)
    assert all(0.5 <= m.score <= 1.0 and m.score == round(m.score, 4) for m in found)


def test_match_as_dict(small: Index) -> None:
    m: Match = small.search(Query("Vladimir Putin", date_of_birth="1952"), limit=1)[0]
    d = m.as_dict()
    assert set(d) == {
        "source", "entry_id", "kind", "name", "matched_name", "score", "name_score",
        "evidence", "explanation", "programs",
    }  # fmt: skip
    assert d["programs"] == ["RUSSIA-EO14024"] and d["kind"] == "person"
    assert {"kind": "name", "effect": "supports"}.items() <= d["evidence"][0].items()


def test_index_sizes(lists_index: Index, small: Index) -> None:
    assert len(small) == 24 and small.name_count == 25
    assert 9_000 < len(lists_index) < 13_000 and lists_index.name_count > 24_000


def test_real_lists_find_transliterated_and_original_script_names(lists_index: Index) -> None:
    assert lists_index.search(Query("Osama Bin Ladin"), limit=1)[0].entry.entry_id == "6365"
    assert lists_index.search(Query("طارق عزيز"), limit=1)[0].entry.entry_id == "6908072"
    assert lists_index.search(Query("Доку Умаров"), limit=1)[0].entry.entry_id in {
        "2960872",
        "12110",
    }


# ------------------------------------------------------------------ inputs


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": " .,- "}, "name"),
        ({"name": "x" * 1001}, "name"),
        ({"name": "A", "date_of_birth": "1970-13-01"}, "date_of_birth"),
        ({"name": "A", "date_of_birth": "07/10/1952"}, "date_of_birth"),
        ({"name": "A", "country": "Atlantis"}, "country"),
        ({"name": "A", "kind": "robot"}, "kind"),
    ],
)
def test_query_rejects_bad_input_naming_the_field(kwargs: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        Query(**kwargs)  # type: ignore[arg-type]
    assert err.value.field == field


@pytest.mark.parametrize(
    ("limit", "min_score", "field"), [(0, 0.5, "limit"), (5, 1.5, "min_score")]
)
def test_search_rejects_bad_limits(small: Index, limit: int, min_score: float, field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        small.search(Query("Vladimir Putin"), limit=limit, min_score=min_score)
    assert err.value.field == field


def test_query_accepts_country_names_and_kind_strings(small: Index) -> None:
    q = Query("Vladimir Putin", kind="person", country="Russian Federation")  # type: ignore[arg-type]
    assert q.kind is PERSON
    (m,) = small.search(q, limit=1)
    assert any(e.kind == "country" and e.effect == "supports" for e in m.evidence)


@pytest.mark.parametrize(
    ("alert", "ignore", "field"),
    [(1.2, 0.5, "alert"), (0.7, -0.1, "ignore"), (0.5, 0.6, "ignore"), ("high", 0.5, "alert")],
)
def test_thresholds_are_validated(alert: float, ignore: float, field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        Thresholds(alert=alert, ignore=ignore)
    assert err.value.field == field


def test_threshold_levels() -> None:
    t = Thresholds()
    assert (t.alert, t.ignore) == (0.70, 0.50)
    assert [t.level(s) for s in (0.7, 0.69, 0.5, 0.49)] == ["alert", "review", "review", "ignore"]
