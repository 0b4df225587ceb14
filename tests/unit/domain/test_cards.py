"""The Luhn check that recognises a card number."""

from __future__ import annotations

import pytest

from riskloop.domain.cards import luhn_valid


@pytest.mark.parametrize(
    "digits",
    [
        "4111111111111111",
        "5555555555554444",
        "378282246310005",
        "4012888888881881",
        "6011111111111117",
        "79927398713",
        "0",
        "00",
    ],
)
def test_accepts_numbers_with_a_correct_check_digit(digits: str) -> None:
    assert luhn_valid(digits) is True


@pytest.mark.parametrize(
    "digits",
    ["4111111111111112", "5555555555554445", "378282246310006", "79927398710", "1"],
)
def test_rejects_numbers_with_a_wrong_check_digit(digits: str) -> None:
    assert luhn_valid(digits) is False


@pytest.mark.parametrize(
    "text",
    ["", "4111 1111 1111 1111", "4111-1111-1111-1111", "41111111111111a1", "-4111111111111111"],
)
def test_rejects_anything_that_is_not_only_digits(text: str) -> None:
    assert luhn_valid(text) is False


def test_rejects_non_ascii_digits_even_when_their_values_would_pass() -> None:
    arabic_indic = "".join(chr(0x0660 + int(d)) for d in "4111111111111111")
    assert arabic_indic.isdigit()
    assert luhn_valid(arabic_indic) is False


def test_a_single_changed_digit_is_always_caught() -> None:
    pan = "4111111111111111"
    for i in range(len(pan)):
        for d in "0123456789":
            if d != pan[i]:
                assert luhn_valid(pan[:i] + d + pan[i + 1 :]) is False
