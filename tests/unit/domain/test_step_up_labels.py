"""A ``challenge_result`` event labels the challenged event ``step_up``: failed is fraud,
passed is not, abandoned and expired label nothing; the label is weak (tier 1), so any
statement by a person outranks it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from riskloop.domain.events import StoredEvent
from riskloop.domain.labels import (
    LABEL_EVENT_TYPES,
    Label,
    effective,
    entry_of,
    label_of,
    label_only,
    settle,
)
from riskloop.intake import validate_event
from riskloop.vault import Keyring, MemoryKeyStore, Vault
from tests.unit.factories import challenge_result, dispute

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _stored(payload: dict[str, Any], seq: int = 1) -> StoredEvent:
    vault = Vault(Keyring.open(MemoryKeyStore()))
    stored = vault.protect(validate_event(payload), source="api")
    return StoredEvent(
        stored.event_id,
        stored.event_type,
        stored.schema_version,
        stored.occurred_at,
        stored.data,
        stored.pii,
        stored.fingerprint,
        stored.source,
        ingested_at=stored.occurred_at,
        seq=seq,
    )


@pytest.mark.parametrize(("result", "fraud"), [("failed", True), ("passed", False)])
def test_a_failed_or_passed_challenge_labels_the_challenged_event(result: str, fraud: bool) -> None:
    stored = _stored(
        challenge_result(event_id="cr-1", challenged_event_id="login-9", result=result)
    )
    label = label_of(stored)
    assert label == Label("login-9", fraud, stored.occurred_at, "challenge:cr-1", "step_up")
    assert label is not None and label.tier == 1


@pytest.mark.parametrize("result", ["abandoned", "expired"])
def test_an_abandoned_or_expired_challenge_labels_nothing(result: str) -> None:
    stored = _stored(challenge_result(result=result))
    assert label_of(stored) is None
    entry = entry_of(stored)  # kept in the index, without a verdict
    assert entry is not None
    assert (entry.kind, entry.fraud, entry.status) == ("step_up", None, "informational")
    assert effective([entry]) is None


def test_the_label_index_entry_says_how_the_challenge_went() -> None:
    stored = _stored(
        challenge_result(
            event_id="cr-2", challenged_event_id="login-9", decision_id="dec_7", result="failed"
        ),
        seq=42,
    )
    entry = entry_of(stored)
    assert entry is not None
    assert (entry.label_id, entry.seq, entry.target_event_id) == ("cr-2", 42, "login-9")
    assert (entry.kind, entry.fraud, entry.status, entry.tier) == ("step_up", True, "open", 1)
    assert entry.detail == {
        "method": "mfa",
        "mfa_method": "totp",
        "result": "failed",
        "decision_id": "dec_7",
    }
    assert effective([entry]) == entry
    assert "challenge_result" in LABEL_EVENT_TYPES


def test_a_challenge_result_is_counted_as_an_event_too_a_dispute_is_only_a_label() -> None:
    assert not label_only(_stored(challenge_result()))
    assert label_only(_stored(dispute()))


def _label(kind: str, fraud: bool, minutes: int) -> Label:
    return Label("e", fraud, T0 + timedelta(minutes=minutes), "t", kind)


def test_a_person_outranks_a_step_up_and_the_latest_wins_within_tier_one() -> None:
    book: dict[str, Label] = {}
    settle(book, _label("step_up", False, 0))  # a phished code passed
    assert settle(book, _label("customer_report", True, 60))  # the customer says fraud
    assert not settle(book, _label("step_up", False, 61))  # a later pass does not undo it
    assert book["e"].kind == "customer_report"

    book = {}
    settle(book, _label("step_up", False, 0))  # 3-D Secure passed...
    assert settle(book, _label("refund_fraud", True, 3 * 24 * 60))  # ...a refund for fraud later
    assert book["e"].fraud
