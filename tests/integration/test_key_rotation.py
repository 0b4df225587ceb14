"""Key rotation over stored records: re-wrap, keep reading, retire only when unused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from riskloop.bootstrap import Riskloop, build
from riskloop.config import Settings
from riskloop.errors import VaultError
from riskloop.vault import retire_key, rotate_keys
from tests.support.factories import EMAIL, card_payment, kyc_record


def test_rotation_rewraps_every_record_and_data_stays_readable(any_rl: Riskloop) -> None:
    for _ in range(3):
        any_rl.ingestor.ingest_batch([card_payment(), kyc_record()])
    letter = any_rl.vault.dead_letter({"x": 1}, reason="r", source="s", now=datetime.now(UTC))
    any_rl.dead_letters.add([letter])
    before = any_rl.events.scan()
    assert any_rl.sealed.count_by_key_version() == {1: 7}

    report = rotate_keys(any_rl.keyring, any_rl.sealed, batch=2)

    assert report.new_version == 2
    assert report.rewrapped == 7
    assert report.remaining_by_version == {2: 7}
    after = any_rl.events.scan()
    assert all(
        a.pii and b.pii and a.pii.ciphertext == b.pii.ciphertext
        for a, b in zip(after, before, strict=True)
    )
    assert any_rl.vault.reveal(after[0])["email"] == EMAIL
    assert any_rl.vault.open_dead_letter(any_rl.dead_letters.list()[0]) == {"x": 1}


def test_retire_refuses_a_version_still_in_use_then_succeeds(any_rl: Riskloop) -> None:
    any_rl.ingestor.ingest(card_payment())
    any_rl.keyring.add_version()  # new active key, old data keys not re-wrapped yet
    with pytest.raises(VaultError, match="still wraps 1"):
        retire_key(any_rl.keyring, any_rl.sealed, 1)
    rotate_keys(any_rl.keyring, any_rl.sealed)
    retire_key(any_rl.keyring, any_rl.sealed, 1)
    assert 1 not in any_rl.keyring.versions
    assert any_rl.vault.reveal(any_rl.events.scan()[0])["email"] == EMAIL


def test_a_running_process_reads_records_sealed_after_another_process_rotated(
    settings: Settings,
) -> None:
    running = build(settings)
    rotator = build(settings, migrate=False)
    rotate_keys(rotator.keyring, rotator.sealed)
    payload = card_payment()
    rotator.ingestor.ingest(payload)  # sealed under version 2, unknown to `running` so far
    stored = running.events.get(payload["event_id"])
    assert stored is not None and stored.pii is not None and stored.pii.key_version == 2
    assert running.vault.reveal(stored)["email"] == EMAIL
    running.close()
    rotator.close()
