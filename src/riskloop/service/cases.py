"""Review cases as a use case: opened from REVIEW decisions, worked by analysts, resolved
into labels.

``sync`` follows the decision ledger: every REVIEW decision opens or joins its entity's case
(idempotent: a decision joins one case once). It re-reads a short overlap behind its cursor,
because decisions from several processes commit slightly out of id order. A server runs it
every second; ``riskloop cases sync`` runs it from cron.

A resolution is committed first, marked ``labels_pending``; the labels are then written (one
``analyst`` label per decision, with ids derived from the case, so a retry duplicates
nothing) and the mark cleared. A crash in between is healed by the next ``sync``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from hashlib import sha256
from typing import Any, Protocol

from riskloop.cases import model
from riskloop.cases.model import (
    Case,
    CaseItem,
    CaseStatus,
    Resolution,
    check_actor,
    check_note,
    entity_of,
    letters,
    priority_of,
    queue_of,
)
from riskloop.cases.ports import CaseStore, TaskSink
from riskloop.cases.sar import render_markdown
from riskloop.domain.events import StoredEvent
from riskloop.errors import ConflictError, FieldError, InvalidInput, NotFound, RiskloopError
from riskloop.ledger.audit import AuditEntry
from riskloop.ledger.records import Decision
from riskloop.policy.model import Outcome
from riskloop.service.labels import LabelService
from riskloop.service.sar import assemble
from riskloop.vault import Vault

log = logging.getLogger(__name__)
CURSOR = "cases:decisions"
SLA_CURSOR = "cases:sla"
OVERLAP = timedelta(seconds=30)
CURSOR_LAG = timedelta(minutes=5)


class DecisionReader(Protocol):
    def scan_ids(
        self, *, after: str = "", limit: int = 1000, outcome: str | None = None
    ) -> list[tuple[str, str]]: ...
    def get(self, decision_id: str) -> Decision | None: ...


class EventReader(Protocol):
    def get(self, event_id: str) -> StoredEvent | None: ...


def _id_at(moment: datetime) -> str:
    """The smallest decision id at ``moment`` (ids start with their millisecond)."""
    return f"dec_{max(0, int(moment.timestamp() * 1000)):012x}"


def _ms_of(decision_id: str) -> datetime:
    return datetime.fromtimestamp(int(decision_id[4:16], 16) / 1000, UTC)


@dataclass(frozen=True, slots=True)
class SyncReport:
    opened: int = 0
    joined: int = 0
    labels_written: int = 0
    sla_breaches: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "opened": self.opened,
            "joined": self.joined,
            "labels_written": self.labels_written,
            "sla_breaches": self.sla_breaches,
        }


class CaseService:
    def __init__(
        self,
        *,
        store: CaseStore,
        decisions: DecisionReader,
        events: EventReader,
        labels: LabelService,
        vault: Vault,
        tasks: TaskSink | None = None,
        four_eyes: frozenset[str] = model.FOUR_EYES_DEFAULT,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.decisions = decisions
        self.events = events
        self.labels = labels
        self.vault = vault
        self.tasks = tasks
        self.four_eyes = four_eyes
        self.clock = clock

    # -- following the decisions --------------------------------------------------------------

    def _item(self, d: Decision) -> CaseItem:
        stored = self.events.get(d.event_id)
        data = stored.data if stored is not None else {}
        entity_type, entity_key = entity_of(d.event_id, data)
        amount = data.get("amount")
        return CaseItem(
            event_id=d.event_id,
            decision_id=d.decision_id,
            event_type=d.event_type,
            at=d.occurred_at,
            amount=amount if isinstance(amount, int) else None,
            currency=data.get("currency"),
            score=d.score,
            reasons=d.reasons,
            entity_type=entity_type,
            entity_key=entity_key,
            queue=queue_of(d.event_type),
            priority=priority_of(d.score, amount if isinstance(amount, int) else None),
        )

    def sync(self, *, batch: int = 1000) -> SyncReport:
        """Open or join cases for new REVIEW decisions, finish label write-backs, and raise
        a task for each case whose SLA ran out since the last run."""
        now = self.clock()
        cursor = self.store.cursor(CURSOR)
        after = _id_at(_ms_of(cursor) - OVERLAP) if cursor else ""
        opened = joined = 0
        last = cursor
        while True:
            # Ids first: the overlap re-reads decisions already in cases, and only the new
            # ones need their full record.
            found = self.decisions.scan_ids(after=after, limit=batch, outcome=Outcome.REVIEW.value)
            seen = self.store.in_cases([event_id for _, event_id in found])
            for decision_id, event_id in found:
                last = max(last, decision_id)
                d = None if event_id in seen else self.decisions.get(decision_id)
                if d is None:
                    continue
                done = self.store.attach(self._item(d), now)
                if done is not None:
                    opened += done[1]
                    joined += not done[1]
            if len(found) < batch:
                break
            after = found[-1][0]
        # Everything decided before now - overlap has committed: no need to look back further
        # (written when something moved, or every few minutes: not a write every second).
        position = max(last, _id_at(now - OVERLAP))
        if last != cursor or not cursor or _ms_of(cursor) < now - CURSOR_LAG:
            self.store.move_cursor(CURSOR, position, now)
        written = 0
        for case in self.store.with_labels_pending():
            written += self._write_labels(case)
        return SyncReport(opened, joined, written, self._sla_tasks(now))

    def _sla_tasks(self, now: datetime) -> int:
        if self.tasks is None:
            return 0
        since = self.store.cursor(SLA_CURSOR)
        start = datetime.fromisoformat(since) if since else None
        raised = 0
        for case in self.store.breached(now):
            if start is not None and case.due_at <= start:
                continue  # raised by an earlier run
            try:
                self.tasks.raise_task(
                    "sla_breach",
                    f"case {case.case_id} ({case.queue}, {model.PRIORITIES[case.priority]}) "
                    "is past its SLA",
                    key=f"sla:{case.case_id}",
                    detail={"case_id": case.case_id, "due_at": case.due_at.isoformat()},
                    owner=case.assignee,
                    actor="riskloop",
                )
                raised += 1
            except RiskloopError as exc:
                log.error("raising the SLA task of %s failed: %s", case.case_id, exc)
                return raised  # leave the cursor: the next run retries
        if raised or start is None or start < now - CURSOR_LAG:
            self.store.move_cursor(SLA_CURSOR, now.isoformat(), now)
        return raised

    # -- reads --------------------------------------------------------------------------------

    def get(self, case_id: str) -> Case:
        case = self.store.get(case_id)
        if case is None:
            raise NotFound("case", case_id)
        return case

    def search(self, **filters: Any) -> list[Case]:
        return self.store.search(**filters)

    def view(self, case_id: str) -> dict[str, Any]:
        """The case page: the case, each decision with its explanation and labels, the
        entity's other cases, and the timeline with notes."""
        case = self.get(case_id)
        now = self.clock()
        items = []
        for event_id, decision_id, added_at in self.store.items(case_id):
            d = self.decisions.get(decision_id)
            stored = self.events.get(event_id)
            labels = self.labels.for_event(event_id)
            items.append(
                {
                    "event_id": event_id,
                    "added_at": added_at.isoformat(),
                    "decision": d.as_dict() if d else None,
                    "event": {
                        "event_type": stored.event_type,
                        "occurred_at": stored.occurred_at.isoformat(),
                        "data": stored.data,  # as kept at rest: PAN tokenized, PII sealed
                    }
                    if stored
                    else None,
                    "label": labels["effective"],
                }
            )
        history = [
            {
                "case_id": c.case_id,
                "queue": c.queue,
                "status": c.status.value,
                "resolution": c.resolution.value if c.resolution else None,
                "opened_at": c.opened_at.isoformat(),
            }
            for c in self.store.search(
                entity_type=case.entity_type, entity_key=case.entity_key, limit=50
            )
            if c.case_id != case_id
        ]
        return {
            **case.as_dict(now),
            "items": items,
            "entity_history": history,
            "timeline": self.timeline(case_id),
        }

    def timeline(self, case_id: str) -> list[dict[str, Any]]:
        out = []
        for seq, at, actor, action, detail, note in self.store.timeline(case_id):
            entry = {
                "seq": seq,
                "at": at.isoformat(),
                "actor": actor,
                "action": action,
                "detail": detail,
            }
            if note is not None:
                entry["note"] = self.vault.open_note(note, context=case_id)
            out.append(entry)
        return out

    def overview(self) -> dict[str, Any]:
        now = self.clock()
        return {
            "queues": self.store.counts(),
            "sla_breached": len(self.store.breached(now)),
        }

    # -- the analyst's work -------------------------------------------------------------------

    def _change(
        self,
        before: Case,
        after: Case,
        actor: str,
        action: str,
        detail: dict[str, Any] | None = None,
        note: str | None = None,
        audited: bool = False,
    ) -> Case:
        if after == before:
            return before  # a retry of what is already so: nothing to write
        now = after.updated_at
        sealed = self.vault.seal_note(note, context=before.case_id) if note else None
        audit = (
            AuditEntry(actor, f"case.{action}", "case", before.case_id, detail or {}, now)
            if audited
            else None
        )
        return self.store.change(
            before, after, actor=actor, action=action, detail=detail or {}, note=sealed, audit=audit
        )

    def _expect(self, case: Case, expected_version: int | None) -> None:
        if expected_version is not None and expected_version != case.version:
            raise ConflictError(
                "case", case.case_id, f"is at version {case.version}, not {expected_version}"
            )

    def claim(self, case_id: str, analyst: str) -> Case:
        analyst = check_actor("analyst", analyst)
        case = self.get(case_id)
        return self._change(case, model.claim(case, analyst, self.clock()), analyst, "claim")

    def release(self, case_id: str, analyst: str) -> Case:
        analyst = check_actor("analyst", analyst)
        case = self.get(case_id)
        return self._change(case, model.release(case, analyst, self.clock()), analyst, "release")

    def assign(self, case_id: str, analyst: str | None, *, actor: str) -> Case:
        actor = check_actor("actor", actor)
        who = check_actor("analyst", analyst) if analyst is not None else None
        case = self.get(case_id)
        after = model.assign(case, who, self.clock())
        return self._change(case, after, actor, "assign", {"assignee": who})

    def assign_round_robin(
        self, analysts: Sequence[str], *, actor: str, queue: str | None = None, limit: int = 100
    ) -> list[dict[str, str]]:
        """Deal the queue's unassigned open cases to ``analysts`` in turn; the turn carries
        over between calls, so the work spreads evenly over a day."""
        actor = check_actor("actor", actor)
        names = [check_actor(f"analysts[{i}]", a) for i, a in enumerate(analysts)]
        if not names:
            raise InvalidInput([FieldError("analysts", "give at least one analyst")])
        key = f"round_robin:{queue or '*'}"
        turn = int(self.store.cursor(key) or 0)
        dealt = []
        open_cases = self.store.search(
            status=[CaseStatus.OPEN.value, CaseStatus.ESCALATED.value],
            queue=queue,
            unassigned=True,
            limit=limit,
        )
        for case in open_cases:
            analyst = names[turn % len(names)]
            try:
                self._change(
                    case,
                    model.assign(case, analyst, self.clock()),
                    actor,
                    "assign",
                    {"assignee": analyst, "round_robin": True},
                )
            except ConflictError:
                continue  # someone took it meanwhile
            dealt.append({"case_id": case.case_id, "assignee": analyst})
            turn += 1
        self.store.move_cursor(key, str(turn % (len(names) * 1_000_000)), self.clock())
        return dealt

    def next_case(self, analyst: str, *, queue: str | None = None) -> Case | None:
        """Claim the most urgent case the analyst may take (None when the queue is empty).
        Two analysts asking at once get different cases."""
        analyst = check_actor("analyst", analyst)
        for _ in range(5):
            candidates = self.store.claimable(analyst, queue, 10)
            if not candidates:
                return None
            for case in candidates:
                try:
                    return self._change(
                        case, model.claim(case, analyst, self.clock()), analyst, "claim"
                    )
                except ConflictError:
                    continue
        return None

    def note(self, case_id: str, author: str, text: str) -> None:
        author = check_actor("author", author)
        body = check_note(text, required=True)
        assert body is not None
        self.get(case_id)
        sealed = self.vault.seal_note(body, context=case_id)
        self.store.add_note(case_id, self.clock(), author, sealed)

    def resolve(
        self,
        case_id: str,
        *,
        actor: str,
        resolution: str,
        action: str = "none",
        note: str | None = None,
        typology: str | None = None,
        expected_version: int | None = None,
    ) -> Case:
        actor = check_actor("actor", actor)
        note = check_note(note)
        case = self.get(case_id)
        self._expect(case, expected_version)
        after = model.resolve(
            case, actor, resolution, action, self.four_eyes, self.clock(), typology=typology
        )
        verb = {
            CaseStatus.ESCALATED: "escalate",
            CaseStatus.PENDING_APPROVAL: "propose",
        }.get(after.status, "resolve")
        detail = {"resolution": resolution, "action": action}
        if typology:
            detail["typology"] = typology
        stored = self._change(case, after, actor, verb, detail, note, audited=True)
        self._after_resolution(stored)
        return stored

    def approve(self, case_id: str, approver: str, *, note: str | None = None) -> Case:
        approver = check_actor("approver", approver)
        note = check_note(note)
        case = self.get(case_id)
        after = model.approve(case, approver, self.clock())
        stored = self._change(case, after, approver, "approve", {}, note, audited=True)
        self._after_resolution(stored)
        return stored

    def reject(self, case_id: str, approver: str, *, note: str | None = None) -> Case:
        approver = check_actor("approver", approver)
        note = check_note(note, required=True)
        case = self.get(case_id)
        after = model.reject(case, approver, self.clock())
        return self._change(case, after, approver, "reject", {}, note, audited=True)

    def open_case(
        self,
        *,
        entity_type: str,
        entity_key: str,
        queue: str,
        actor: str,
        priority: str = "normal",
        reason: str | None = None,
    ) -> Case:
        """Open a case by hand or from an alert (or return the entity's open case)."""
        actor = check_actor("actor", actor)
        ranks = {v: k for k, v in model.PRIORITIES.items()}
        errors = []
        if entity_type not in ("customer", "account", "card", "device", "merchant"):
            errors.append(
                FieldError("entity_type", "expected customer, account, card, device or merchant")
            )
        if priority not in ranks:
            errors.append(FieldError("priority", "expected high, normal or low"))
        for name, value in (("entity_key", entity_key), ("queue", queue)):
            if not value or len(value) > (256 if name == "entity_key" else 64):
                errors.append(FieldError(name, "required, at most 256 characters"))
        if errors:
            raise InvalidInput(errors)
        now = self.clock()
        rank = ranks[priority]
        case = Case(
            case_id=model.new_case_id(now),
            entity_type=entity_type,
            entity_key=entity_key,
            queue=queue,
            priority=rank,
            status=CaseStatus.OPEN,
            assignee=None,
            opened_at=now,
            updated_at=now,
            due_at=now + model.SLA[rank],
            body={"decisions": 0, "amounts": {}, "max_score": None, "reasons": {}},
        )
        reason = check_note(reason)
        opened = self.store.open_manual(case, actor, {"by_hand": True})
        if reason and opened.case_id == case.case_id:  # sealed like every note
            self.store.add_note(
                opened.case_id, now, actor, self.vault.seal_note(reason, context=opened.case_id)
            )
        return opened

    def bulk(
        self, op: str, case_ids: Sequence[str], *, actor: str, **args: Any
    ) -> list[dict[str, Any]]:
        """One operation over many cases; each succeeds or fails on its own."""
        ops: dict[str, Callable[[str], Case]] = {
            "assign": lambda cid: self.assign(cid, args.get("analyst"), actor=actor),
            "claim": lambda cid: self.claim(cid, actor),
            "release": lambda cid: self.release(cid, actor),
            "resolve": lambda cid: self.resolve(
                cid,
                actor=actor,
                resolution=str(args.get("resolution")),
                action=str(args.get("action", "none")),
                note=args.get("note"),
                typology=args.get("typology"),
            ),
        }
        if op not in ops:
            raise InvalidInput([FieldError("op", f"expected one of {', '.join(ops)}")])
        if not case_ids or len(case_ids) > 500:
            raise InvalidInput([FieldError("case_ids", "give 1 to 500 case ids")])
        results: list[dict[str, Any]] = []
        for cid in case_ids:
            try:
                case = ops[op](cid)
                results.append({"case_id": cid, "ok": True, "status": case.status.value})
            except (ConflictError, NotFound, InvalidInput) as exc:
                results.append({"case_id": cid, "ok": False, "error": str(exc)})
        return results

    # -- resolution → labels ------------------------------------------------------------------

    def _after_resolution(self, case: Case) -> None:
        if case.status is not CaseStatus.RESOLVED:
            return
        try:
            self._write_labels(case)
        except RiskloopError as exc:  # the next sync writes them
            log.error("labels of case %s not written yet: %s", case.case_id, exc)
        action = case.body.get("action", "none")
        if self.tasks is not None and action != "none":
            try:
                self.tasks.raise_task(
                    "review",
                    f"{action.replace('_', ' ')} for {case.entity_type} {case.entity_key} "
                    f"(case {case.case_id})",
                    key=f"action:{case.case_id}",
                    detail={"case_id": case.case_id, "action": action},
                    actor=str(case.body.get("approved_by") or case.body.get("resolved_by")),
                )
            except RiskloopError as exc:
                log.error("the action task of case %s failed: %s", case.case_id, exc)

    def _write_labels(self, case: Case) -> int:
        if case.resolution not in (Resolution.FRAUD, Resolution.NOT_FRAUD):
            self.store.labels_written(case.case_id, case.version)
            return 0
        fraud = case.resolution is Resolution.FRAUD
        at = (case.resolved_at or self.clock()).isoformat()
        author = str(case.body.get("resolved_by") or "analyst")[:100]
        bodies = [
            {
                # Derived from the case and the event: a rewrite after a crash is a duplicate.
                "label_id": f"{case.case_id}.{letters(sha256(event_id.encode()).hexdigest()[:24])}",
                "kind": "analyst",
                "event_id": event_id,
                "fraud": fraud,
                "author": author,
                "case_id": case.case_id,
                "reported_at": at,
            }
            for event_id, _, _ in self.store.items(case.case_id)
        ]
        for i in range(0, len(bodies), 500):
            self.labels.submit_batch(bodies[i : i + 500], source=f"case:{case.case_id}")
        self.store.labels_written(case.case_id, case.version)
        return len(bodies)

    # -- SAR ------------------------------------------------------------------------------------

    def sar_draft(self, case_id: str, *, actor: str) -> dict[str, Any]:
        """A suspicious-activity-report draft from the case's facts (JSON form); the export
        is a privileged read (it holds the notes) and goes into the audit chain."""
        actor = check_actor("actor", actor)
        draft = assemble(self, self.get(case_id), actor)
        self.store.audit(AuditEntry(actor, "case.sar.export", "case", case_id, {}, self.clock()))
        return draft

    def sar_markdown(self, case_id: str, *, actor: str) -> str:
        return render_markdown(self.sar_draft(case_id, actor=actor))
