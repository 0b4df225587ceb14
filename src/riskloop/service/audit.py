"""The audit chain as a whole: decisions sealed into it, signed checkpoints, verification
and export.

Every privileged action is appended to the chain in the transaction that makes it. A
decision is too many for one chain entry each at hundreds per second, so decisions are
*sealed* in batches a few seconds after they are recorded: one ``decision.seal`` entry holds
the count and a digest of the records, and each record keeps the entry's ``seq``. Verify
then catches a record changed, removed or moved between batches.

A plain hash chain can be recomputed by anyone who can write to the database, so the head
is signed from time to time (``audit_checkpoints``, HMAC with a key from the keyring): a
rewritten chain no longer matches a checkpoint, and a deleted entry leaves a gap in ``seq``.
What no database-only scheme can catch is the removal of the newest entries together with
the checkpoints after them; ``riskloop audit verify`` prints the signed head so it can be
kept elsewhere (docs/audit.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from riskloop.errors import FieldError, InvalidInput
from riskloop.ledger.audit import (
    GENESIS,
    SEAL_ACTION,
    AuditEntry,
    chain_hash,
    checkpoint_mac,
)


class AuditStore(Protocol):
    def seal_decisions(
        self, limit: int, entry: Callable[[int, str, str, str], AuditEntry]
    ) -> int: ...
    def head(self) -> tuple[int, str] | None: ...
    def last_checkpoint(self) -> int: ...
    def add_checkpoint(self, seq: int, entry_hash: str, at: datetime, mac: str) -> None: ...
    def checkpoints(self) -> Iterator[tuple[int, str, str]]: ...
    def entries(self) -> Iterator[AuditEntry]: ...
    def sealed_digest(self, seq: int) -> tuple[int, str]: ...
    def unsealed(self) -> int: ...
    def between(self, since: datetime, until: datetime) -> list[AuditEntry]: ...
    def append(self, entry: AuditEntry) -> AuditEntry: ...


@dataclass
class AuditReport:
    entries: int = 0
    broken_at: int | None = None  # first entry whose link or hash fails, or after a gap
    problem: str | None = None
    sealed_batches: int = 0
    sealed_decisions: int = 0
    bad_batches: list[int] = field(default_factory=list)  # seal entries whose records differ
    checkpoints: int = 0
    bad_checkpoints: list[int] = field(default_factory=list)
    unsealed_decisions: int = 0
    head: tuple[int, str] | None = None

    @property
    def ok(self) -> bool:
        return self.broken_at is None and not self.bad_batches and not self.bad_checkpoints

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "broken_at": self.broken_at,
            "problem": self.problem,
            "sealed_batches": self.sealed_batches,
            "sealed_decisions": self.sealed_decisions,
            "bad_batches": self.bad_batches,
            "checkpoints": self.checkpoints,
            "bad_checkpoints": self.bad_checkpoints,
            "unsealed_decisions": self.unsealed_decisions,
            "head": None if self.head is None else {"seq": self.head[0], "hash": self.head[1]},
        }


class AuditService:
    def __init__(
        self,
        store: AuditStore,
        key: bytes,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        batch: int = 5000,
    ) -> None:
        self.store = store
        self.key = key
        self.clock = clock
        self.batch = batch

    def seal(self) -> int:
        """Seal every decision recorded so far (in batches), then sign the head."""
        done = 0
        while n := self.store.seal_decisions(self.batch, self._seal_entry):
            done += n
            if n < self.batch:
                break
        self.checkpoint()
        return done

    def _seal_entry(self, count: int, digest: str, first: str, last: str) -> AuditEntry:
        detail = {"count": count, "digest": digest, "first": first, "last": last}
        return AuditEntry(
            "riskloop", SEAL_ACTION, "decision", f"{first}..{last}", detail, self.clock()
        )

    def checkpoint(self) -> bool:
        head = self.store.head()
        if head is None or head[0] <= self.store.last_checkpoint():
            return False
        seq, entry_hash = head
        mac = checkpoint_mac(self.key, seq, entry_hash)
        self.store.add_checkpoint(seq, entry_hash, self.clock(), mac)
        return True

    def verify(self) -> AuditReport:
        report = AuditReport()
        prev, expected_seq = GENESIS, None
        hashes: dict[int, str] = {}
        for e in self.store.entries():
            report.entries += 1
            assert e.seq is not None
            if expected_seq is not None and e.seq != expected_seq and report.broken_at is None:
                report.broken_at, report.problem = e.seq, f"entry {expected_seq} is missing"
            if (e.prev_hash != prev or chain_hash(e, prev) != e.hash) and report.broken_at is None:
                report.broken_at, report.problem = e.seq, f"entry {e.seq} was changed"
            prev, expected_seq = e.hash, e.seq + 1
            hashes[e.seq] = e.hash
            report.head = (e.seq, e.hash)
            if e.action == SEAL_ACTION:
                report.sealed_batches += 1
                n, digest = self.store.sealed_digest(e.seq)
                report.sealed_decisions += n
                if n != e.detail.get("count") or digest != e.detail.get("digest"):
                    report.bad_batches.append(e.seq)
        for seq, entry_hash, mac in self.store.checkpoints():
            report.checkpoints += 1
            signed = checkpoint_mac(self.key, seq, entry_hash) == mac
            if not signed or hashes.get(seq) != entry_hash:
                report.bad_checkpoints.append(seq)
        report.unsealed_decisions = self.store.unsealed()
        return report

    def record(
        self, actor: str, action: str, kind: str, key: str, detail: dict[str, Any]
    ) -> AuditEntry:
        """Append a privileged act that has no record of its own (e.g. a vault key
        rotation, whose only trace is the keyring file)."""
        return self.store.append(AuditEntry(actor, action, kind, key, detail, self.clock()))

    def export(self, since: datetime, until: datetime, *, actor: str) -> list[AuditEntry]:
        """Entries in ``[since, until)``; the export is itself a privileged, audited act."""
        errors = [
            FieldError(name, "give a time zone (e.g. Z)")
            for name, t in (("since", since), ("until", until))
            if t.tzinfo is None
        ]
        if not errors and until <= since:
            errors.append(FieldError("until", "must be after since"))
        if errors:
            raise InvalidInput(errors)
        found = self.store.between(since, until)
        detail = {"since": since.isoformat(), "until": until.isoformat(), "entries": len(found)}
        self.store.append(
            AuditEntry(actor, "audit.export", "audit", "export", detail, self.clock())
        )
        return found
