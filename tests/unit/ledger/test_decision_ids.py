"""A decision id is copied into other events (labels, challenge results), whose stored text
is masked wherever it holds something that looks like a card number. An id with 13 or more
digits in a row could pass the Luhn check and be masked there (CI once saw
``dec_01a229065*******6990bbecfdf3`` in a label), so no id may hold such a run."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from riskloop.ledger import records
from riskloop.ledger.records import new_decision_id


def test_an_id_never_holds_a_long_run_of_digits(monkeypatch: pytest.MonkeyPatch) -> None:
    draws: Iterator[bytes] = iter([bytes.fromhex("1234567890123456"), bytes.fromhex("ab" * 8)])
    monkeypatch.setattr(records.os, "urandom", lambda _n: next(draws))
    made = new_decision_id(now_ms=0x012345678901)  # all digits, then a digit-only draw
    assert made == "dec_012345678901" + "ab" * 8
    assert not re.search(r"\d{13}", made)


def test_ids_stay_time_ordered_and_distinct() -> None:
    ids = [new_decision_id(now_ms=1_700_000_000_000 + i) for i in range(2000)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"dec_[0-9a-f]{28}", i) and not re.search(r"\d{13}", i) for i in ids)
