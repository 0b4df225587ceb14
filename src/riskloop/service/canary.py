"""Canary use cases: start one, route its share of traffic, judge it against its guardrails,
roll it back or move it on, promote it at the end (``riskloop canary``, ``/v1/canaries``).

Every process follows the running canaries (``refresh``, each second in a server) and
routes by a stable hash of the entity, so all processes send the same customers to the
candidate. Judging (``check``) reads the decisions recorded since the last check into the
canary's per-step aggregates; each action is a compare-and-set on the canary with its audit
entry, so when two processes judge at once only one acts. A rollback also raises a task for
the canary's owner.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from riskloop.cases.model import entity_of, letters
from riskloop.cases.tasks import TaskKind, TaskService
from riskloop.errors import ConflictError, FieldError, InvalidInput, NotFound
from riskloop.intake.registry import EVENT_TYPES
from riskloop.ledger.audit import AuditEntry
from riskloop.ledger.records import Decision
from riskloop.pipeline import MODEL_UNAVAILABLE, Pipeline, PolicyPlan
from riskloop.policy.model import Policy
from riskloop.release.canary import (
    Arm,
    Canary,
    CanaryStatus,
    Kind,
    Verdict,
    bucket,
    judge,
    parse_guardrails,
    parse_steps,
)
from riskloop.release.ports import CanaryStore
from riskloop.scoring.port import Scorer
from riskloop.service.catalog import CatalogService, PlaybookLoader

log = logging.getLogger(__name__)

ACTOR = "riskloop-canary"
RUNBOOK = "docs/runbooks.md#canary-rolled-back"
_KEYS = {"kind", "event_type", "candidate", "rules", "policies", "owner", "steps", "guardrails"}
_KEYS |= {"author", "reason"}


@dataclass(frozen=True, slots=True)
class CanaryRoute:
    """What the pipeline asks: does this event's entity fall in the canary's share?"""

    name: str
    share: float
    salt: str
    scorer: Scorer | None = None
    plan: PolicyPlan | None = None

    def takes(self, event_id: str, data: Mapping[str, Any]) -> bool:
        _, key = entity_of(event_id, data)
        return bucket(self.salt, key) < self.share


class RecordedDecisions(Protocol):
    def scan(
        self, *, after: str = "", limit: int = 1000, outcome: str | None = None
    ) -> list[Decision]: ...


class ModelActions(Protocol):
    def scorer(self, ref: str) -> tuple[Scorer, str]: ...

    def champion_of(self, event_type: str) -> str | None: ...

    def promote_ref(self, ref: str, *, author: str, reason: str) -> None: ...


def _text(doc: Mapping[str, Any], key: str, *, required: bool = True, size: int = 100) -> str:
    raw = doc.get(key)
    if raw is None and not required:
        return ""
    if not isinstance(raw, str) or not raw.strip() or len(raw) > size:
        raise InvalidInput([FieldError(key, f"text of 1-{size} characters")])
    return raw.strip()


def _decision_id_at(moment: datetime) -> str:
    return f"dec_{int(moment.timestamp() * 1000):012x}"


class CanaryService:
    def __init__(
        self,
        *,
        store: CanaryStore,
        catalog: CatalogService,
        models: ModelActions,
        decisions: RecordedDecisions,
        verdicts: Callable[[Sequence[str]], Mapping[str, bool]],
        tasks: TaskService,
        pipeline: Pipeline,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.models = models
        self.decisions = decisions
        self.verdicts = verdicts
        self.tasks = tasks
        self.pipeline = pipeline
        self.clock = clock
        self._lock = threading.Lock()
        self._built: dict[str, tuple[int, CanaryRoute]] = {}  # canary id -> (version, route)

    # -- starting and stopping -----------------------------------------------------------

    def start(self, doc: Any) -> Canary:
        if not isinstance(doc, dict):
            raise InvalidInput([FieldError("canary", "must be an object")])
        unknown = sorted(set(doc) - _KEYS)
        if unknown:
            raise InvalidInput([FieldError(k, "unknown field") for k in unknown])
        author = _text(doc, "author")
        kind_raw = doc.get("kind")
        if kind_raw not in {k.value for k in Kind}:
            raise InvalidInput([FieldError("kind", "model or policy")])
        kind = Kind(kind_raw)
        event_type = doc.get("event_type")
        if event_type not in EVENT_TYPES:
            raise InvalidInput([FieldError("event_type", f"one of {', '.join(EVENT_TYPES)}")])
        steps, guardrails = parse_steps(doc.get("steps")), parse_guardrails(doc.get("guardrails"))
        if kind is Kind.MODEL:
            target, candidate, baseline, candidate_doc = self._model_candidate(doc, event_type)
        else:
            target, candidate, baseline, candidate_doc = self._policy_candidate(doc, event_type)
        now = self.clock()
        canary = Canary(
            canary_id="can_" + letters(f"{int(now.timestamp() * 1000):012x}{os.urandom(5).hex()}"),
            kind=kind,
            event_type=event_type,
            target=target,
            candidate=candidate,
            baseline=baseline,
            owner=_text(doc, "owner", required=False) or author,
            steps=steps,
            guardrails=guardrails,
            status=CanaryStatus.RUNNING,
            step=0,
            step_started_at=now,
            created_at=now,
            updated_at=now,
            candidate_doc=candidate_doc,
            cursor=_decision_id_at(now),
            history=({"at": now.isoformat(), "action": "start", "by": author, "step": 0},),
        )
        reason = _text(doc, "reason", required=False, size=2000)
        audit = self._audit(author, "canary.start", canary, reason=reason)
        created = self.store.create(canary, audit)
        self.refresh()
        return created

    def _model_candidate(
        self, doc: Mapping[str, Any], event_type: str
    ) -> tuple[str, str, str | None, None]:
        ref = _text(doc, "candidate")
        name, _, number = ref.partition("@")
        if not number.isdigit():
            raise InvalidInput([FieldError("candidate", "a model version, name@version")])
        try:
            _, model_type = self.models.scorer(ref)
        except NotFound:
            raise InvalidInput([FieldError("candidate", f"no model {ref}")]) from None
        except ValueError as exc:
            raise InvalidInput([FieldError("candidate", f"cannot be served: {exc}")]) from None
        if model_type != event_type:
            raise InvalidInput(
                [FieldError("candidate", f"{ref} scores {model_type}, not {event_type}")]
            )
        return name, ref, self.models.champion_of(event_type), None

    def _policy_candidate(
        self, doc: Mapping[str, Any], event_type: str
    ) -> tuple[str, str, str | None, dict[str, Any]]:
        rules, policies = doc.get("rules") or [], doc.get("policies") or []
        ref = doc.get("candidate")
        chosen: list[Any] = list(policies) if isinstance(policies, list) else []
        if ref is not None:
            pid, _, number = str(ref).partition("@")
            saved = [
                p for p in self._versions(pid) if number.isdigit() and p.version == int(number)
            ]
            if not saved:
                raise InvalidInput([FieldError("candidate", f"no saved policy version {ref}")])
            chosen.append(saved[0].as_doc())
        if not isinstance(rules, list) or (not chosen and not rules):
            raise InvalidInput(
                [FieldError("candidate", "a saved policy id@version, or rules and policies")]
            )
        # Promotion saves these as they are: the candidate policy as the active version.
        chosen = [{**p, "status": "active"} if isinstance(p, dict) else p for p in chosen]
        candidate_doc = {"rules": list(rules), "policies": chosen}
        plan = self._plan(candidate_doc, event_type)
        active = self.catalog.playbook().active.get(event_type)
        return (
            plan.policy.id,
            plan.policy.version_id,
            active.policy.version_id if active else None,
            candidate_doc,
        )

    def _versions(self, policy_id: str) -> list[Policy]:
        try:
            return self.catalog.policy_versions(policy_id)
        except NotFound:
            return []

    def _plan(self, candidate_doc: Mapping[str, Any], event_type: str) -> PolicyPlan:
        try:
            playbook, _ = self.catalog.candidate(
                rules=candidate_doc["rules"], policies=candidate_doc["policies"]
            )
        except InvalidInput as exc:
            raise exc.prefixed("candidate") from None
        plan = playbook.active.get(event_type)
        if plan is None:
            raise InvalidInput([FieldError("candidate", f"no policy decides {event_type}")])
        return plan

    def stop(self, canary_id: str, *, author: str, reason: str) -> Canary:
        """End a running canary by hand: its share goes back to production at once."""
        canary = self.get(canary_id)
        if canary.status is not CanaryStatus.RUNNING:
            raise ConflictError("canary", canary_id, f"already {canary.status.value}")
        now = self.clock()
        after = canary.with_(
            status=CanaryStatus.STOPPED,
            updated_at=now,
            history=(*canary.history, {"at": now.isoformat(), "action": "stop", "by": author}),
        )
        stored = self.store.update(
            canary, after, self._audit(author, "canary.stop", after, reason=reason)
        )
        self.refresh()
        return stored

    def get(self, canary_id: str) -> Canary:
        found = self.store.get(canary_id)
        if found is None:
            raise NotFound("canary", canary_id)
        return found

    def all(self, status: str | None = None) -> list[Canary]:
        return self.store.all(status=status)

    def _audit(self, actor: str, action: str, canary: Canary, **detail: Any) -> AuditEntry:
        body = {
            "kind": canary.kind.value,
            "event_type": canary.event_type,
            "candidate": canary.candidate,
            "baseline": canary.baseline,
            "step": canary.step,
            "share": canary.share,
            **detail,
        }
        return AuditEntry(actor, action, "canary", canary.canary_id, body, self.clock())

    # -- routing ---------------------------------------------------------------------------

    def refresh(self) -> None:
        """Route each event type's running canary (one query; routes are rebuilt only when a
        canary changed). A canary whose candidate cannot be loaded routes nothing."""
        with self._lock:
            routes: dict[str, CanaryRoute] = {}
            built: dict[str, tuple[int, CanaryRoute]] = {}
            for canary in self.store.all(status=CanaryStatus.RUNNING.value):
                held = self._built.get(canary.canary_id)
                if held is not None and held[0] == canary.version:
                    route = held[1]
                else:
                    try:
                        route = self._route(canary)
                    except Exception as exc:  # fail open: production keeps the traffic
                        log.error("canary %s not routed: %s", canary.canary_id, exc)
                        continue
                built[canary.canary_id] = (canary.version, route)
                routes[canary.event_type] = route
            self._built = built
            self.pipeline.routes = routes

    def _route(self, canary: Canary) -> CanaryRoute:
        if canary.kind is Kind.MODEL:
            scorer, _ = self.models.scorer(canary.candidate)
            return CanaryRoute(canary.canary_id, canary.share, canary.salt, scorer=scorer)
        plan = self._plan(canary.candidate_doc or {}, canary.event_type)
        return CanaryRoute(canary.canary_id, canary.share, canary.salt, plan=plan)

    # -- judging ---------------------------------------------------------------------------

    def check(self) -> list[dict[str, Any]]:
        """Judge every running canary once; returns what each check found and did."""
        out = []
        for canary in self.store.all(status=CanaryStatus.RUNNING.value):
            try:
                out.append(self._check(canary))
            except ConflictError:  # another process judged it meanwhile
                out.append({"canary_id": canary.canary_id, "action": "skipped"})
        if any(o.get("action") in {"rollback", "advance", "promote"} for o in out):
            self.refresh()
        return out

    def _read(self, canary: Canary) -> tuple[Arm, Arm, str]:
        test, base = canary.arm("canary"), canary.arm("baseline")
        after = max(canary.cursor, _decision_id_at(canary.step_started_at))
        while batch := self.decisions.scan(after=after, limit=2000):
            for d in batch:
                if d.event_type != canary.event_type:
                    continue
                arm = test if d.canary == canary.canary_id else base
                arm.add(
                    d.outcome.value,
                    d.latency_us.get("decide", 0) / 1000,
                    d.score,
                    MODEL_UNAVAILABLE in d.fallbacks,
                    d.event_id,
                )
            after = batch[-1].decision_id
        return test, base, after

    def _check(self, canary: Canary) -> dict[str, Any]:
        now = self.clock()
        test, base, cursor = self._read(canary)
        labels = self.verdicts([*test.flagged, *base.flagged])
        verdict = judge(canary, test, base, labels, now)
        check = {"at": now.isoformat(), **verdict.as_dict()}
        after = canary.with_(
            cursor=cursor,
            arms={"canary": test.as_dict(), "baseline": base.as_dict()},
            last_check=check,
            updated_at=now,
        )
        if verdict.action in {"wait", "hold"}:
            self.store.update(canary, after, None)
        elif verdict.action == "rollback":
            self._rollback(canary, after, verdict, now)
        elif verdict.action == "advance":
            # At full share no baseline arm is left: the last one is the reference then.
            full = canary.steps[canary.step + 1].share >= 1.0
            moved = after.with_(
                step=canary.step + 1,
                step_started_at=now,
                arms={"baseline": base.as_dict()} if full else {},
                history=(*canary.history, {**check, "step": canary.step + 1}),
            )
            self.store.update(
                canary, moved, self._audit(ACTOR, "canary.advance", moved, check=check)
            )
        else:
            self._promote(canary, after, check, now)
        return {"canary_id": canary.canary_id, **check}

    def _rollback(self, canary: Canary, after: Canary, verdict: Verdict, now: datetime) -> None:
        check = after.last_check or {}
        done = after.with_(status=CanaryStatus.ROLLED_BACK, history=(*canary.history, dict(check)))
        self.store.update(
            canary,
            done,
            self._audit(
                ACTOR, "canary.rollback", canary, breaches=list(verdict.breaches), check=check
            ),
        )
        self.refresh()  # the share goes back to production before anything else
        self.tasks.raise_task(
            TaskKind.ALERT,
            f"Canary {canary.candidate} on {canary.event_type} rolled back: "
            + ", ".join(verdict.breaches),
            key=f"canary:{canary.canary_id}",
            detail={
                "canary_id": canary.canary_id,
                "candidate": canary.candidate,
                "baseline": canary.baseline,
                "breaches": list(verdict.breaches),
                "measures": dict(verdict.measures),
                "runbook": RUNBOOK,  # tasks link http(s) runbooks; ours is in the repo
            },
            owner=canary.owner,
            actor=ACTOR,
        )

    def _promote(
        self, canary: Canary, after: Canary, check: Mapping[str, Any], now: datetime
    ) -> None:
        """Make the candidate production, then close the canary (a crash between the two
        leaves a running canary at full share whose next check promotes the same again)."""
        reason = f"canary {canary.canary_id} passed every step"
        if canary.kind is Kind.MODEL:
            self.models.promote_ref(canary.candidate, author=ACTOR, reason=reason)
        else:
            author = f"canary:{canary.owner}"[:100]
            PlaybookLoader(self.catalog).apply(dict(canary.candidate_doc or {}), author)
        done = after.with_(
            status=CanaryStatus.PROMOTED, history=(*canary.history, {**check, "action": "promote"})
        )
        self.store.update(canary, done, self._audit(ACTOR, "canary.promote", canary, check=check))
