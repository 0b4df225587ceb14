"""Token similarity and the name score, on their own."""

from __future__ import annotations

import pytest

from riskloop.screening.similarity import compare, token_similarity


@pytest.mark.parametrize(
    ("a", "b", "how"),
    [
        ("putin", "putin", "exact"),
        ("putin", "putn", "spelling"),
        ("vladimir", "vladimri", "spelling"),  # transposition
        ("mohammed", "muhammad", "spelling"),
        ("hussein", "husayn", "sound"),
        ("dzhokhar", "jokhar", "sound"),
        ("noor", "onor", "spelling"),  # first two letters swapped
        ("umar", "omar", "spelling"),  # vowels are transliteration
        ("khan", "khen", "spelling"),
        ("bill", "william", "nickname"),
        ("bob", "robert", "nickname"),
        ("v", "vladimir", "initial"),
    ],
)
def test_same_name_written_differently(a: str, b: str, how: str) -> None:
    sim, found = token_similarity(a, b)
    assert found == how and 0.8 <= sim <= 1.0


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("vladimir", "vladislav"),
        ("maria", "vladimir"),
        ("putin", "patino"),
        ("qaida", "naida"),  # another first consonant in a short name
        ("ali", "wali"),
        ("mark", "mary"),  # a consonant changed in a short name
        ("moore", "mire"),
        ("al", "ali"),
        ("sea2", "sea3"),
        ("nacional", "internacional"),
        ("v", "putin"),
    ],
)
def test_different_names_do_not_pair(a: str, b: str) -> None:
    assert token_similarity(a, b) == (0.0, "")


def test_missing_middle_name_costs_little_and_a_missing_given_name_a_lot() -> None:
    full = ["vladimir", "vladimirovich", "putin"]
    assert compare(["vladimir", "putin"], full).score > 0.85
    assert compare(["putin"], full).score < 0.7
    assert compare(["maria", "putin"], ["vladimir", "putin"]).score < 0.5


def test_conflicting_given_names_cost_more_than_a_missing_one() -> None:
    listed = ["ahmed", "abdullah", "saleh", "zahrani"]
    missing = compare(["abdullah", "saleh", "zahrani"], listed).score
    other = compare(["james", "abdullah", "saleh", "zahrani"], listed).score
    assert other < missing


def test_joined_words_pair_with_their_parts() -> None:
    s = compare(["abdulrahman", "umar"], ["abdul", "rahman", "umar"])
    assert s.score > 0.9 and s.pairs[-1].how == "joined"
