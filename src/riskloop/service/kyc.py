"""KYC/KYB profiles: the latest ``kyc_record`` of each customer, projected from the event log,
screened when it arrives, and turned into a review task when its periodic review falls due.

The projection follows the log by sequence number from a stored cursor, so it can stop and
resume anywhere; applying a record twice changes nothing, and an older record that arrives
late never overwrites a newer one. The subject's names, date of birth and document numbers
are sealed by the vault; the profile keeps only statuses and dates in clear.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import orjson

from riskloop.domain.events import SealedBox, StoredEvent
from riskloop.domain.ports import EventLog
from riskloop.errors import FieldError, InvalidInput, NotFound
from riskloop.screening.records import (
    DEFAULT_REVIEW_DAYS,
    KycProfile,
    SanctionsStatus,
    Subject,
    next_review,
    subject_of_kyc,
)
from riskloop.service.screening import RescreenReport, ScreeningService, TaskRaiser
from riskloop.vault import Vault

CURSOR = "kyc-profiles"
ACTOR = "riskloop-kyc"


class KycStore(Protocol):
    def save_profiles(self, rows: Sequence[tuple[KycProfile, SealedBox | None]]) -> list[str]: ...
    def profile(self, customer_id: str) -> tuple[KycProfile, SealedBox | None] | None: ...
    def search_profiles(
        self,
        *,
        sanctions_status: str | None = None,
        due_before: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[KycProfile]: ...
    def profile_counts(self) -> dict[str, int]: ...
    def cursor(self, name: str) -> str: ...
    def move_cursor(self, name: str, position: str, at: datetime) -> None: ...


@dataclass
class SyncReport:
    events: int = 0
    applied: int = 0
    screening: RescreenReport | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "applied": self.applied,
            "screening": self.screening.as_dict() if self.screening else None,
        }


class KycService:
    def __init__(
        self,
        store: KycStore,
        events: EventLog,
        vault: Vault,
        screening: ScreeningService,
        *,
        tasks: TaskRaiser | None = None,
        review_days: Mapping[str, int] = DEFAULT_REVIEW_DAYS,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.events = events
        self.vault = vault
        self.screening = screening
        self.tasks = tasks
        self.review_days = dict(review_days)
        self.clock = clock

    def _profile(self, event: StoredEvent) -> tuple[KycProfile, SealedBox | None]:
        record = self.vault.reveal(event)
        check = record.get("document_check")
        subject = subject_of_kyc(record)
        box = (
            self.vault.seal_note(
                orjson.dumps(subject.as_dict()).decode(), context=f"kyc/{record['customer_id']}"
            )
            if subject is not None
            else None
        )
        profile = KycProfile(
            customer_id=record["customer_id"],
            subject_kind=record["subject"],
            event_id=event.event_id,
            occurred_at=event.occurred_at,
            verification_status=record["verification_status"],
            risk_rating=record.get("risk_rating"),
            # result, provider and when: the provider's free-text reasons stay in the log
            document_check=(
                {k: check[k] for k in ("result", "provider", "checked_at") if k in check}
                if check
                else None
            ),
            next_review_at=next_review(record, event.occurred_at, self.review_days),
            updated_at=self.clock(),
        )
        return profile, box

    def sync(self, *, batch: int = 500, max_events: int | None = None) -> SyncReport:
        """Apply the ``kyc_record`` events stored since the last run (at most ``max_events``:
        a read path catches up a little, the job all the way), then screen the customers
        whose profile changed. A crash before the screen leaves those profiles unscreened,
        and the ``rescreen`` job screens them."""
        report = SyncReport()
        after = int(self.store.cursor(CURSOR) or 0)
        changed: list[str] = []
        while max_events is None or report.events < max_events:
            events = self.events.scan_type("kyc_record", after_seq=after, limit=batch)
            if not events:
                break
            written = self.store.save_profiles([self._profile(e) for e in events])
            report.applied += len(written)
            changed.extend(written)
            report.events += len(events)
            after = events[-1].seq or after
            self.store.move_cursor(CURSOR, str(after), self.clock())
        if changed:
            report.screening = self.screening.screen_customers(list(dict.fromkeys(changed)))
        return report

    def get(self, customer_id: str, *, reveal: bool = False) -> dict[str, Any]:
        found = self.store.profile(customer_id)
        if found is None:
            raise NotFound("kyc profile", customer_id)
        profile, box = found
        out = profile.as_dict()
        if reveal and box is not None:
            subject = Subject.from_dict(
                orjson.loads(self.vault.open_note(box, context=f"kyc/{customer_id}"))
            )
            out["subject_detail"] = subject.as_dict()
        out["hits"] = [h.as_dict() for h in self.screening.hits(customer_id=customer_id)]
        return out

    def search(
        self,
        *,
        sanctions_status: str | None = None,
        due_within_days: int | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[KycProfile]:
        due = (
            self.clock() + timedelta(days=due_within_days) if due_within_days is not None else None
        )
        if sanctions_status is not None and sanctions_status not in set(SanctionsStatus):
            raise InvalidInput(
                [FieldError("sanctions_status", f"one of {', '.join(SanctionsStatus)}")]
            )
        return self.store.search_profiles(
            sanctions_status=sanctions_status, due_before=due, limit=limit, offset=offset
        )

    def due_reviews(self, *, within_days: int = 0) -> Sequence[KycProfile]:
        """Raise a ``review`` task for every profile whose periodic review is due; a repeat
        run counts an occurrence on the open task instead of a second one."""
        due = self.search(due_within_days=within_days, limit=100_000)
        if self.tasks is None:
            return due
        for p in due:
            when = p.next_review_at.date().isoformat() if p.next_review_at else "now"
            self.tasks.raise_task(
                "review",
                f"KYC review due for customer {p.customer_id} (risk {p.risk_rating}, {when})",
                key=f"kyc-review:{p.customer_id}:{when}",
                detail={
                    "customer_id": p.customer_id,
                    "risk_rating": p.risk_rating,
                    "next_review_at": p.next_review_at.isoformat() if p.next_review_at else None,
                    "verification_status": p.verification_status,
                },
                owner="compliance",
                actor=ACTOR,
            )
        return due

    def counts(self) -> dict[str, int]:
        return self.store.profile_counts()
