"""Re-screening: every customer with a KYC profile against the list versions they have not
been screened against yet.

A customer screened against a list's previous version is searched against only that
version's added and changed entries (a few hundred names, not tens of thousands); removed
entries need no search (the load closed their open hits). A customer further behind, or a
new one, gets a full screen. Each batch is durable before the next: hits are recorded, then
tasks raised for every open hit without one, then the customers are marked screened, so a
run killed mid-way is finished by the next without duplicate hits or tasks.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from riskloop.domain.events import SealedBox
from riskloop.screening.match import Index, Match, Thresholds
from riskloop.screening.records import (
    Hit,
    KycProfile,
    SanctionsStatus,
    Subject,
    Suppression,
    stored_match,
)
from riskloop.service.screening.index import IndexCache
from riskloop.service.screening.names import is_pep
from riskloop.service.screening.ports import ScreeningStore, TaskRaiser
from riskloop.vault import Vault

ACTOR = "riskloop-screening"
TASK_OWNER = "compliance"


@dataclass
class RescreenReport:
    customers: int = 0
    screened: int = 0  # customers behind the current list versions, now screened
    full: int = 0  # of which against whole lists rather than the last change
    new_hits: int = 0
    tasks: int = 0
    seconds: float = 0.0
    versions: dict[str, int] = field(default_factory=dict)

    def add(self, other: RescreenReport) -> None:
        self.customers += other.customers
        self.screened += other.screened
        self.full += other.full
        self.new_hits += other.new_hits
        self.tasks += other.tasks
        self.versions = other.versions

    def as_dict(self) -> dict[str, Any]:
        return {
            "customers": self.customers,
            "screened": self.screened,
            "full": self.full,
            "new_hits": self.new_hits,
            "tasks": self.tasks,
            "seconds": round(self.seconds, 3),
            "versions": self.versions,
        }


def suppressions_of(
    store: ScreeningStore, parties: Sequence[str], now: datetime
) -> dict[tuple[str, str, str], Suppression]:
    """(party, list, entry) -> the suppression in force (not revoked, not expired)."""
    if not parties:
        return {}
    return {
        (s.customer_id, s.source, s.entry_id): s
        for s, _ in store.suppressions(sorted(set(parties)))
        if s.expires_at is None or s.expires_at > now
    }


class Rescreener:
    def __init__(
        self,
        store: ScreeningStore,
        vault: Vault,
        indexes: IndexCache,
        *,
        thresholds: Thresholds,
        tasks: TaskRaiser | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.vault = vault
        self.indexes = indexes
        self.thresholds = thresholds
        self.tasks = tasks
        self.clock = clock

    def _matches(self, indexes: Iterable[Index], subject: Subject) -> list[Match]:
        best: dict[tuple[str, str], Match] = {}
        for index in indexes:
            for q in subject.queries():
                for m in index.search(q, limit=5, min_score=self.thresholds.alert):
                    key = (m.entry.source, m.entry.entry_id)
                    if key not in best or best[key].score < m.score:
                        best[key] = m
        return list(best.values())

    def screen_profiles(
        self, rows: Sequence[tuple[KycProfile, SealedBox | None]], *, full: bool = False
    ) -> RescreenReport:
        """Screen these customers against what they have not been screened against yet
        (or everything, ``full``); record new hits, raise their tasks, mark them screened."""
        idx = self.indexes.current(force=True)
        report = RescreenReport(customers=len(rows), versions=dict(idx.versions))
        now = self.clock()
        hits: list[Hit] = []
        done: list[str] = []
        for profile, box in rows:
            todo = [s for s, v in idx.versions.items() if full or profile.screened.get(s) != v]
            if not todo:
                continue
            done.append(profile.customer_id)
            report.screened += 1
            if box is None:
                continue
            subject = Subject.from_dict(
                orjson.loads(self.vault.open_note(box, context=f"kyc/{profile.customer_id}"))
            )
            whole = full or any(profile.screened.get(s) != idx.versions[s] - 1 for s in todo)
            report.full += whole
            if whole and len(todo) == len(idx.versions):
                indexes = [idx.all]
            elif whole:
                indexes = [self.indexes.source_index(idx, s) for s in todo]
            else:
                indexes = [self.indexes.delta_index(idx, s) for s in todo]
            supp = None
            for m in self._matches(indexes, subject):
                e = m.entry
                digest = idx.digests.get((e.source, e.entry_id), e.digest())
                if supp is None:
                    supp = suppressions_of(self.store, [profile.customer_id], now)
                s = supp.get((profile.customer_id, e.source, e.entry_id))
                if s is not None and s.active(digest, now):
                    continue
                hits.append(
                    Hit(
                        profile.customer_id,
                        e.source,
                        e.entry_id,
                        digest,
                        idx.versions[e.source],
                        m.score,
                        stored_match(m),
                    )
                )
        new = self.store.record_hits(hits, now) if hits else []
        report.new_hits = len(new)
        report.tasks = self.raise_tasks(done)
        self.refresh_status(done, screened=idx.versions)
        return report

    def screen_customers(self, customer_ids: Sequence[str], *, batch: int = 1000) -> RescreenReport:
        """Screen these customers (new or changed profiles) against every list, in batches."""
        total = RescreenReport(versions=dict(self.indexes.current(force=True).versions))
        for i in range(0, len(customer_ids), batch):
            rows = self.store.profiles_of(customer_ids[i : i + batch])
            total.add(self.screen_profiles(rows, full=True))
        return total

    def rescreen(
        self,
        *,
        full: bool = False,
        batch: int = 1000,
        progress: Callable[[RescreenReport], None] | None = None,
    ) -> RescreenReport:
        """Every customer with a KYC profile, in batches (each durable before the next)."""
        started = time.perf_counter()
        total = RescreenReport(versions=dict(self.indexes.current(force=True).versions))
        after = 0
        while True:
            rows = self.store.profiles(after_id=after, limit=batch)
            if not rows:
                break
            after = rows[-1][0].row_id or after
            total.add(self.screen_profiles(rows, full=full))
            if progress is not None:
                progress(total)
        total.seconds = time.perf_counter() - started
        return total

    def raise_tasks(self, customer_ids: Sequence[str]) -> int:
        """One task per customer with open hits that no task has yet (after a crash too)."""
        if self.tasks is None or not customer_ids:
            return 0
        pending: dict[str, list[Hit]] = {}
        for h in self.store.untasked_hits(customer_ids):
            pending.setdefault(h.customer_id, []).append(h)
        raised = 0
        for customer_id, hits in pending.items():
            top = max(hits, key=lambda h: h.score)
            task = self.tasks.raise_task(
                "screening_hit",
                f"Potential {'PEP' if is_pep(top.match) else 'sanctions'} match for customer "
                f"{customer_id}: {top.match.get('name')} ({top.source}, {top.score:.2f})",
                key=f"screening:{customer_id}",
                detail={
                    "customer_id": customer_id,
                    "hits": [
                        {
                            "hit": h.id,
                            "source": h.source,
                            "entry_id": h.entry_id,
                            "name": h.match.get("name"),
                            "score": h.score,
                        }
                        for h in hits
                    ],
                },
                owner=TASK_OWNER,
                actor=ACTOR,
            )
            self.store.set_hit_task([h.id for h in hits if h.id is not None], str(task.id))
            raised += 1
        return raised

    def refresh_status(
        self, customer_ids: Sequence[str], screened: Mapping[str, int] | None = None
    ) -> None:
        if not customer_ids:
            return
        found = self.store.open_hit_customers(customer_ids)
        rows = []
        for c in customer_ids:
            statuses = found.get(c, set())
            rows.append((c, status_of(statuses, "sanctions"), status_of(statuses, "pep")))
        self.store.mark_screened(rows, screened, self.clock())


def status_of(statuses: set[str], kind: str) -> SanctionsStatus:
    if f"{kind}:confirmed" in statuses:
        return SanctionsStatus.CONFIRMED_MATCH
    if f"{kind}:open" in statuses:
        return SanctionsStatus.POTENTIAL_MATCH
    return SanctionsStatus.CLEAR
