"""Every envelope-encrypted column in the schema, for key rotation."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import Column, Engine, Table, func, select, update

from riskloop.adapters.sql.schema import (
    case_log,
    dead_letters,
    event_log,
    kyc_profiles,
    screening_suppressions,
    users,
)
from riskloop.domain.events import SealedBox

# table -> (row id, ciphertext, wrapped data key, key version)
_SEALED: dict[str, tuple[Table, str, str, str, str]] = {
    "event_log": (event_log, "seq", "pii_ciphertext", "pii_wrapped_key", "pii_key_version"),
    "dead_letters": (
        dead_letters,
        "id",
        "payload_ciphertext",
        "payload_wrapped_key",
        "payload_key_version",
    ),
    "case_log": (case_log, "seq", "note_ciphertext", "note_wrapped_key", "note_key_version"),
    "screening_suppressions": (
        screening_suppressions,
        "id",
        "note_ciphertext",
        "note_wrapped_key",
        "note_key_version",
    ),
    "kyc_profiles": (
        kyc_profiles,
        "id",
        "subject_ciphertext",
        "subject_wrapped_key",
        "subject_key_version",
    ),
    "users": (users, "id", "totp_ciphertext", "totp_wrapped_key", "totp_key_version"),
}


def _cols(name: str) -> tuple[Table, Column[int], Column[bytes], Column[bytes], Column[int]]:
    table, rid, ct, wk, kv = _SEALED[name]
    return table, table.c[rid], table.c[ct], table.c[wk], table.c[kv]


class SqlSealedRecords:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def count_by_key_version(self) -> dict[int, int]:
        counts: Counter[int] = Counter()
        with self.engine.connect() as conn:
            for name in _SEALED:
                _, _, _, _, kv = _cols(name)
                q = select(kv, func.count()).where(kv.is_not(None)).group_by(kv)
                for version, n in conn.execute(q):
                    counts[int(version)] += int(n)
        return dict(counts)

    def sealed_older_than(
        self, key_version: int, *, limit: int
    ) -> list[tuple[str, int, SealedBox]]:
        out: list[tuple[str, int, SealedBox]] = []
        with self.engine.connect() as conn:
            for name in _SEALED:
                _, rid, ct, wk, kv = _cols(name)
                q = (
                    select(rid, ct, wk, kv)
                    .where(kv < key_version)
                    .order_by(rid)
                    .limit(limit - len(out))
                )
                out.extend((name, r[0], SealedBox(r[1], r[2], r[3])) for r in conn.execute(q))
                if len(out) >= limit:
                    break
        return out

    def replace_wrapped_key(
        self, table: str, row_id: int, old: SealedBox, wrapped_key: bytes, key_version: int
    ) -> bool:
        t, rid, _, wk, kv = _cols(table)
        stmt = (
            update(t)
            .where(rid == row_id, wk == old.wrapped_key, kv == old.key_version)
            .values({wk: wrapped_key, kv: key_version})
        )
        with self.engine.begin() as conn:
            return conn.execute(stmt).rowcount == 1
