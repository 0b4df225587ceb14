"""Made-up identifiers check like real ones: Luhn-valid card numbers, IBAN and ABA check
digits, and no stray card number anywhere a vault would mask it."""

from __future__ import annotations

from random import Random

import pytest

from riskloop.domain.cards import card_numbers, luhn_valid
from riskloop.simulate import identities as ids


@pytest.mark.parametrize(("network", "bin6"), ids.BINS)
def test_card_numbers_are_luhn_valid_in_their_test_range(network: str, bin6: str) -> None:
    rng = Random(network + bin6)
    for _ in range(200):
        pan = ids.card_number(rng, bin6)
        assert len(pan) == 16 and pan.startswith(bin6) and luhn_valid(pan)


@pytest.mark.parametrize(
    "country", ["DE", "FR", "ES", "IT", "NL", "BE", "PT", "AT", "FI", "IE", "LT", "RO"]
)
def test_ibans_have_valid_check_digits_and_no_card_number_inside(country: str) -> None:
    rng = Random(country)
    for _ in range(200):
        iban = ids.iban(rng, country)
        assert iban.startswith(country) and ids.iban_valid(iban)
        assert not card_numbers(iban)


def test_us_routing_numbers_have_valid_check_digits() -> None:
    rng = Random(1)
    assert all(ids.aba_valid(ids.aba_routing(rng)) for _ in range(500))


def test_phone_numbers_are_never_long_enough_to_be_card_numbers() -> None:
    rng = Random(2)
    for country in ("GB", "US", "DE", "FI", "PT"):
        for _ in range(100):
            assert sum(ch.isdigit() for ch in ids.phone(rng, country)) <= 12
