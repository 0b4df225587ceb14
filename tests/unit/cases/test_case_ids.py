"""Case ids and the label ids derived from them never look like card numbers (a benchmark
found hex ids with Luhn-valid digit runs, which intake refuses and the vault masks)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from riskloop.cases.model import letters, new_case_id
from riskloop.domain.cards import card_numbers


def test_case_ids_are_time_ordered_letters_without_card_numbers() -> None:
    t0 = datetime(2026, 11, 29, tzinfo=UTC)
    ids = [new_case_id(t0 + timedelta(milliseconds=i)) for i in range(5000)]
    assert ids == sorted(ids)
    assert all(not card_numbers(i) and not any(c.isdigit() for c in i) for i in ids)
    assert letters("4111111111111111") == "ebbbbbbbbbbbbbbb"
