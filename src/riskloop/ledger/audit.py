"""The audit log is a hash chain: each entry's hash covers its content and the previous
entry's hash, so changing or deleting any entry breaks every later link
(``riskloop audit verify`` walks it)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class AuditEntry:
    actor: str
    action: str  # e.g. rule.create, rule.update, list.entries.add, policy.activate
    kind: str  # rule, list, policy, ...
    key: str  # what was changed: "velocity@3"
    detail: dict[str, Any]
    at: datetime
    seq: int | None = None
    prev_hash: str = GENESIS
    hash: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "kind": self.kind,
            "key": self.key,
            "detail": self.detail,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


def chain_hash(entry: AuditEntry, prev_hash: str) -> str:
    body = orjson.dumps(
        {
            "at": entry.at.isoformat(),
            "actor": entry.actor,
            "action": entry.action,
            "kind": entry.kind,
            "key": entry.key,
            "detail": entry.detail,
            "prev": prev_hash,
        },
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(body).hexdigest()


def verify_chain(entries: Iterable[AuditEntry]) -> tuple[int, int | None]:
    """``(entries checked, seq of the first broken entry or None)``."""
    prev = GENESIS
    n = 0
    for e in entries:
        n += 1
        if e.prev_hash != prev or chain_hash(e, prev) != e.hash:
            return n, e.seq
        prev = e.hash
    return n, None


SEAL_ACTION = "decision.seal"


def record_digest(rows: Iterable[dict[str, Any]]) -> str:
    """One SHA-256 over decision records in order, each in a canonical JSON form; a sealed
    batch's entry keeps it, so a changed, added or removed record shows on verify."""
    h = hashlib.sha256()
    for row in rows:
        h.update(orjson.dumps(row, option=orjson.OPT_SORT_KEYS))
        h.update(b"\n")
    return h.hexdigest()


def checkpoint_mac(key: bytes, seq: int, entry_hash: str) -> str:
    """The signature of a chain head. The key comes from the keyring, which the database
    does not hold: whoever rewrites the chain in the database cannot sign the new head."""
    return hmac.new(key, f"{seq}:{entry_hash}".encode(), hashlib.sha256).hexdigest()
