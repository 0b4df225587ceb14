"""Keyed hashes: PAN tokens stable per key, BINs of the allowed length, match hashes that
agree across spellings of the same value."""

from __future__ import annotations

import pytest

from riskloop.vault.hashing import card_bin, fingerprint, match_hash, normalise, pan_token

KEY = b"k" * 32
OTHER_KEY = b"o" * 32
PAN = "4111111111111111"


def test_pan_token_is_stable_for_the_same_key() -> None:
    token = pan_token(KEY, PAN)
    assert token == pan_token(KEY, PAN)
    assert token.startswith("tok_")
    assert len(token) == len("tok_") + 32  # 20 bytes in base32
    assert token == token.lower()


def test_pan_token_differs_across_keys() -> None:
    assert pan_token(KEY, PAN) != pan_token(OTHER_KEY, PAN)


def test_pan_token_differs_across_pans_and_does_not_contain_the_pan() -> None:
    token = pan_token(KEY, PAN)
    assert token != pan_token(KEY, "5555555555554444")
    assert PAN not in token


@pytest.mark.parametrize(
    ("pan", "expected"),
    [
        ("4111111111111111", "41111111"),  # 16 digits: 8-digit BIN
        ("4111111111111111111", "41111111"),  # 19 digits
        ("378282246310005", "378282"),  # 15 digits: 6-digit BIN
        ("4222222222222", "422222"),  # 13 digits
    ],
)
def test_card_bin_keeps_8_digits_for_16_plus_else_6(pan: str, expected: str) -> None:
    assert card_bin(pan) == expected


@pytest.mark.parametrize(
    "spelling",
    ["ada@example.com", "Ada@Example.COM", "  ada@example.com\t", "ADA@EXAMPLE.COM "],
)
def test_email_match_hash_ignores_case_and_surrounding_whitespace(spelling: str) -> None:
    assert match_hash(KEY, "email", spelling) == match_hash(KEY, "email", "ada@example.com")


@pytest.mark.parametrize(
    "spelling",
    ["+44 20 7946 0958", "+44 (20) 7946-0958", "+44.20.7946.0958", " +442079460958 "],
)
def test_phone_match_hash_ignores_punctuation(spelling: str) -> None:
    assert match_hash(KEY, "phone", spelling) == match_hash(KEY, "phone", "+442079460958")


def test_phone_match_hash_keeps_the_leading_plus() -> None:
    assert match_hash(KEY, "phone", "+442079460958") != match_hash(KEY, "phone", "442079460958")


@pytest.mark.parametrize("kind", ["document_number", "account_number", "iban"])
def test_identifier_match_hash_ignores_spaces_dashes_and_case(kind: str) -> None:
    assert match_hash(KEY, kind, "de89 3704-0044 0532 0130 00") == match_hash(
        KEY, kind, "DE89370400440532013000"
    )


def test_match_hash_differs_across_values_kinds_and_keys() -> None:
    base = match_hash(KEY, "email", "ada@example.com")
    assert base.startswith("h_")
    assert len(base) == 2 + 32
    assert base != match_hash(KEY, "email", "bob@example.com")
    assert base != match_hash(KEY, "name", "ada@example.com")
    assert base != match_hash(OTHER_KEY, "email", "ada@example.com")


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("email", " Ada@Example.COM ", "ada@example.com"),
        ("name", "  Ada   LOVELACE ", "ada lovelace"),
        ("phone", "+44 (20) 7946-0958", "+442079460958"),
        ("phone", "020 7946 0958", "02079460958"),
        ("iban", "DE89 3704-0044", "de8937040044"),
        ("name", "\uff21\uff44\uff41", "ada"),  # full-width letters fold under NFKC
    ],
)
def test_normalise_gives_the_shared_form(kind: str, value: str, expected: str) -> None:
    assert normalise(kind, value) == expected


def test_fingerprint_is_keyed_and_deterministic() -> None:
    fp = fingerprint(KEY, b'{"a":1}')
    assert fp == fingerprint(KEY, b'{"a":1}')
    assert len(fp) == 64
    assert fp != fingerprint(KEY, b'{"a":2}')
    assert fp != fingerprint(OTHER_KEY, b'{"a":1}')
