"""Key rotation over sealed records: re-wrap every data key under the new KEK in batches,
never touch the data, and retire a version only when nothing needs it."""

from __future__ import annotations

import pytest

from riskloop.domain.events import SealedBox
from riskloop.domain.ports import SealedRecords
from riskloop.errors import VaultError
from riskloop.vault import Keyring, MemoryKeyStore, retire_key, rotate_keys
from riskloop.vault.envelope import open_sealed, seal
from riskloop.vault.rotation import RotationReport, rewrap_all


class FakeSealedRecords:
    """In-memory SealedRecords: rows keyed by (table, row_id), with the compare-and-swap the
    SQL adapter does on the old wrapped key."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, int], SealedBox] = {}
        self.batches: list[int] = []

    def add(self, table: str, row_id: int, box: SealedBox) -> None:
        self.rows[(table, row_id)] = box

    def count_by_key_version(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for box in self.rows.values():
            counts[box.key_version] = counts.get(box.key_version, 0) + 1
        return counts

    def sealed_older_than(
        self, key_version: int, *, limit: int
    ) -> list[tuple[str, int, SealedBox]]:
        found = [
            (t, i, b) for (t, i), b in sorted(self.rows.items()) if b.key_version < key_version
        ]
        self.batches.append(len(found[:limit]))
        return found[:limit]

    def replace_wrapped_key(
        self, table: str, row_id: int, old: SealedBox, wrapped_key: bytes, key_version: int
    ) -> bool:
        current = self.rows.get((table, row_id))
        if current is None or current.wrapped_key != old.wrapped_key:
            return False
        self.rows[(table, row_id)] = SealedBox(current.ciphertext, wrapped_key, key_version)
        return True


class StuckSealedRecords(FakeSealedRecords):
    """Another rotation always wins the compare-and-swap."""

    def replace_wrapped_key(
        self, table: str, row_id: int, old: SealedBox, wrapped_key: bytes, key_version: int
    ) -> bool:
        return False


def _aad(table: str, row_id: int) -> bytes:
    return f"{table}:{row_id}".encode()


@pytest.fixture
def ring() -> Keyring:
    return Keyring.open(MemoryKeyStore())


def _fill(ring: Keyring, records: FakeSealedRecords, n: int) -> None:
    for i in range(n):
        table = "event_log" if i % 2 else "dead_letters"
        records.add(table, i, seal(ring, b"secret-%d" % i, aad=_aad(table, i)))


def test_the_fake_satisfies_the_port() -> None:
    records: SealedRecords = FakeSealedRecords()
    assert records.count_by_key_version() == {}


def test_rotate_rewraps_every_record_in_batches_and_keeps_the_data(ring: Keyring) -> None:
    records = FakeSealedRecords()
    _fill(ring, records, 5)
    before = dict(records.rows)

    report = rotate_keys(ring, records, batch=2)

    assert report == RotationReport(new_version=2, rewrapped=5, remaining_by_version={2: 5})
    assert ring.active_version == 2
    assert records.batches == [2, 2, 1, 0]
    for (table, row_id), box in records.rows.items():
        assert box.key_version == 2
        assert box.ciphertext == before[(table, row_id)].ciphertext
        assert box.wrapped_key != before[(table, row_id)].wrapped_key
        assert open_sealed(ring, box, aad=_aad(table, row_id)) == b"secret-%d" % row_id


def test_rotate_with_nothing_stored_only_adds_a_version(ring: Keyring) -> None:
    report = rotate_keys(ring, FakeSealedRecords())
    assert report == RotationReport(new_version=2, rewrapped=0, remaining_by_version={})
    assert ring.versions == frozenset({1, 2})


def test_rotate_twice_moves_every_record_to_the_newest_version(ring: Keyring) -> None:
    records = FakeSealedRecords()
    _fill(ring, records, 3)
    rotate_keys(ring, records)
    records.add("event_log", 99, seal(ring, b"late", aad=_aad("event_log", 99)))
    report = rotate_keys(ring, records)
    assert report.new_version == 3
    assert report.rewrapped == 4
    assert report.remaining_by_version == {3: 4}


def test_rewrap_all_stops_when_another_rotation_keeps_winning(ring: Keyring) -> None:
    records = StuckSealedRecords()
    _fill(ring, records, 2)
    ring.add_version()
    with pytest.raises(VaultError, match="made no progress"):
        rewrap_all(ring, records)


def test_rewrap_all_with_everything_current_does_nothing(ring: Keyring) -> None:
    records = FakeSealedRecords()
    _fill(ring, records, 3)
    assert rewrap_all(ring, records) == 0
    assert records.count_by_key_version() == {1: 3}


def test_retire_refuses_a_version_still_in_use(ring: Keyring) -> None:
    records = FakeSealedRecords()
    _fill(ring, records, 3)
    ring.add_version()
    with pytest.raises(VaultError, match="key version 1 still wraps 3 data keys"):
        retire_key(ring, records, 1)
    assert 1 in ring.versions


def test_retire_refuses_the_active_version(ring: Keyring) -> None:
    with pytest.raises(VaultError, match="key version 1 is active"):
        retire_key(ring, FakeSealedRecords(), 1)
    assert ring.versions == frozenset({1})


def test_retire_refuses_an_unknown_version(ring: Keyring) -> None:
    ring.add_version()
    with pytest.raises(VaultError, match="key version 5 is not in the keyring"):
        retire_key(ring, FakeSealedRecords(), 5)


def test_retire_after_rotation_drops_the_old_version_and_data_stays_readable(ring: Keyring) -> None:
    records = FakeSealedRecords()
    _fill(ring, records, 4)
    rotate_keys(ring, records, batch=3)
    retire_key(ring, records, 1)
    assert ring.versions == frozenset({2})
    for (table, row_id), box in records.rows.items():
        assert open_sealed(ring, box, aad=_aad(table, row_id)) == b"secret-%d" % row_id
