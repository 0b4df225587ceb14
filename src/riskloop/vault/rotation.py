"""Key rotation without downtime.

``rotate_keys`` adds a new KEK version and makes it active at once (new records use it), then
re-wraps the data keys of existing records in small batches; the data itself is never
rewritten. Readers keep working throughout because every version stays in the keyring until
``retire_key`` removes it, which it refuses while any record still needs that version.
"""

from __future__ import annotations

from dataclasses import dataclass

from riskloop.domain.ports import SealedRecords
from riskloop.errors import VaultError
from riskloop.vault.envelope import rewrap
from riskloop.vault.keyring import Keyring


@dataclass(frozen=True, slots=True)
class RotationReport:
    new_version: int
    rewrapped: int
    remaining_by_version: dict[int, int]


def rewrap_all(ring: Keyring, records: SealedRecords, *, batch: int = 500) -> int:
    """Re-wrap every data key wrapped by an older version than the active one."""
    done = 0
    while True:
        target = ring.active_version
        rows = records.sealed_older_than(target, limit=batch)
        if not rows:
            return done
        progressed = 0
        for table, row_id, box in rows:
            fresh = rewrap(ring, box)
            # Guarded by the old wrapped key: a concurrent rotation wins, we skip the row.
            if records.replace_wrapped_key(
                table, row_id, box, fresh.wrapped_key, fresh.key_version
            ):
                progressed += 1
        done += progressed
        if not progressed:
            raise VaultError("key rotation made no progress; is another rotation running?")


def rotate_keys(ring: Keyring, records: SealedRecords, *, batch: int = 500) -> RotationReport:
    version = ring.add_version()
    rewrapped = rewrap_all(ring, records, batch=batch)
    return RotationReport(version, rewrapped, records.count_by_key_version())


def retire_key(ring: Keyring, records: SealedRecords, version: int) -> None:
    if version == ring.active_version:
        raise VaultError(f"key version {version} is active; rotate before retiring it")
    still = records.count_by_key_version().get(version, 0)
    if still:
        raise VaultError(
            f"key version {version} still wraps {still} data keys; run `riskloop keys rotate`"
        )
    ring.retire(version)
