"""The story of one decision, once the event is stored and its features computed:

    lists   -> which block / allow / watch lists the event matches (names screened against
               sanctions lists before the vault arrive as ``screening``)
    canary  -> for the share of entities a canary takes, its model and/or policy below
    model   -> the champion's score and the features that drove it (skipped past the deadline)
    rules   -> every rule of the active policy, on one shared CEL activation
    policy  -> hits + score -> outcome and ordered reasons; shadow policies beside it
    shadow  -> the challenger model's score, recorded beside it (never changes the outcome)
    record  -> the decision, with versions, feature snapshot and per-stage latency

A dependency that fails does not fail the decision: without features the rules that need
them do not hit (``FEATURES_UNAVAILABLE``); without the model, rules decide alone
(``MODEL_UNAVAILABLE``). Both are counted in ``stats``.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from riskloop.credit.assess import Assessed, assess
from riskloop.credit.inputs import CREDIT_TYPES
from riskloop.domain.events import StoredEvent
from riskloop.ledger.records import (
    ChallengerScore,
    Decision,
    RuleResult,
    ScreenedName,
    ShadowOutcome,
    new_decision_id,
)
from riskloop.policy import Outcome, Policy, PolicyResult, evaluate, stepped_up
from riskloop.rules.cel import Activation, CompiledRule, Evaluation, Vocabulary
from riskloop.rules.lists import ListIndex
from riskloop.rules.model import Action, Status
from riskloop.scoring.port import FixedScorer, Score, Scorer, ScorerSource

log = logging.getLogger(__name__)

FEATURES_UNAVAILABLE = "FEATURES_UNAVAILABLE"
MODEL_UNAVAILABLE = "MODEL_UNAVAILABLE"
DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED"
NO_POLICY = "NO_POLICY"


@dataclass(frozen=True, slots=True)
class PolicyPlan:
    policy: Policy
    rules: tuple[CompiledRule, ...]  # in evaluation order; active and shadow rules

    def decide(
        self,
        evaluated: Mapping[str, Evaluation],
        score: float | None,
        model_reasons: Sequence[str],
        *,
        step_up_done: bool,
    ) -> PolicyResult:
        """The policy's outcome from its rules' evaluations (by rule id; shadow-status
        rules never act) and the score: one place for live decisions and backtests."""
        hits = [
            evaluated[c.rule.id]
            for c in self.rules
            if c.rule.status is Status.ACTIVE and c.rule.id in evaluated
        ]
        return evaluate(self.policy, hits, score, model_reasons, step_up_done=step_up_done)


@dataclass(frozen=True)
class Playbook:
    """The compiled catalogue the decision path reads: immutable, swapped whole."""

    version: int
    vocabularies: Mapping[str, Vocabulary]
    active: Mapping[str, PolicyPlan]
    shadows: Mapping[str, Sequence[PolicyPlan]]
    lists: ListIndex


class Route(Protocol):
    """A canary: for the events it takes (a stable share of entities), its scorer and/or
    policy plan decide instead of the champion and the active policy."""

    @property
    def name(self) -> str: ...

    @property
    def scorer(self) -> Scorer | None: ...

    @property
    def plan(self) -> PolicyPlan | None: ...

    def takes(self, event_id: str, data: Mapping[str, Any]) -> bool: ...


def screening_bindings(names: Sequence[ScreenedName] | None) -> dict[str, Any] | None:
    """What rules see of the screened names: the best score and whether a sanctions or a PEP
    entry alerted, leaving out entries suppressed for this customer."""
    if names is None:
        return None
    live = [n for n in names if not n.suppressed]
    return {
        "screening.score": max((n.score for n in live), default=0.0),
        "screening.sanctions": any(n.alert and not n.pep for n in live),
        "screening.pep": any(n.alert and n.pep for n in live),
    }


def _us(since: float) -> int:
    return int((time.perf_counter() - since) * 1e6)


class Pipeline:
    def __init__(
        self,
        scorer: Scorer | None,
        *,
        models: ScorerSource | None = None,
        top_k: int = 4,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.models: ScorerSource = models or FixedScorer(scorer)
        self.top_k = top_k
        self.clock = clock
        self.stats: Counter[str] = Counter()
        self.routes: Mapping[str, Route] = {}  # event type -> its canary; swapped whole

    def _score(
        self,
        scorer: Scorer | None,
        features: Mapping[str, Any] | None,
        deadline: float,
        fallbacks: list[str],
    ) -> Score | None:
        if scorer is None:
            return None
        if time.perf_counter() >= deadline:
            fallbacks += [DEADLINE_EXCEEDED, MODEL_UNAVAILABLE]
            return None
        try:
            return scorer.score(features or {}, top_k=self.top_k)
        except Exception as exc:  # fails open by contract: rules decide alone
            log.error("model %s failed: %s", scorer.version, exc)
            fallbacks.append(MODEL_UNAVAILABLE)
            return None

    def _challenge(
        self, challenger: Scorer | None, features: Mapping[str, Any] | None, deadline: float
    ) -> ChallengerScore | None:
        """The challenger's score for the record; skipped without features or time left."""
        if challenger is None or features is None or time.perf_counter() >= deadline:
            return None
        try:
            s = challenger.score(features, top_k=self.top_k)
        except Exception as exc:  # a shadow model's failure is logged, never the decision's
            log.error("challenger %s failed: %s", challenger.version, exc)
            self.stats["challenger_failures"] += 1
            return None
        return ChallengerScore(challenger.version, s.value, s.contributions)

    def decide(
        self,
        playbook: Playbook,
        stored: StoredEvent,
        features: Mapping[str, Any] | None,
        *,
        feature_set: str,
        deadline: float,
        started: float,
        latency_us: dict[str, int],
        screening: tuple[ScreenedName, ...] | None = None,
    ) -> Decision:
        fallbacks: list[str] = [] if features is not None else [FEATURES_UNAVAILABLE]
        event_type, data = stored.event_type, stored.data
        now = self.clock()

        t = time.perf_counter()
        memberships = playbook.lists.memberships(data, now)
        latency_us["lists"] = _us(t)

        route = self.routes.get(event_type)
        if route is not None and not route.takes(stored.event_id, data):
            route = None

        t = time.perf_counter()
        champion, challenger = self.models.for_event(event_type)
        if route is not None and route.scorer is not None:
            champion = route.scorer
        score = self._score(champion, features, deadline, fallbacks)
        latency_us["model"] = _us(t)

        t = time.perf_counter()
        plan = route.plan if route is not None and route.plan else playbook.active.get(event_type)
        shadows = playbook.shadows.get(event_type, ())
        activation = Activation(
            playbook.vocabularies[event_type],
            data,
            features or {},
            memberships,
            score.value if score else None,
            screening=screening_bindings(screening),
        )
        evaluated: dict[str, Evaluation] = {}
        for p in (plan, *shadows) if plan else shadows:
            todo = [c for c in p.rules if c.rule.id not in evaluated]
            for e in activation.evaluate(todo, event_type):
                evaluated[e.rule.id] = e
        latency_us["rules"] = _us(t)

        t = time.perf_counter()
        step_up_done = stepped_up(data)
        model_reasons = [c.reason for c in score.contributions] if score else []

        def run(p: PolicyPlan) -> PolicyResult:
            value = score.value if score else None
            return p.decide(evaluated, value, model_reasons, step_up_done=step_up_done)

        if plan is not None:
            result = run(plan)
            outcome, reasons, decided_by = result.outcome, result.reasons, result.decided_by
        else:
            outcome, reasons, decided_by = Outcome.APPROVE, (NO_POLICY,), "default"
        credit = None
        if event_type in CREDIT_TYPES:
            credit = self._credit(plan, outcome, stored, evaluated, score, features, now)
            if credit.outcome != outcome.value:  # nothing affordable, or no PD to price by
                outcome, decided_by = Outcome(credit.outcome), "credit"
            reasons = (*reasons, *credit.reasons)
        step_up = None  # a challenge says how: the policy's method, else by event type
        if plan is not None and outcome is Outcome.CHALLENGE:
            step_up = plan.policy.step_up_for(event_type)
        shadow = tuple(
            ShadowOutcome(p.policy.version_id, r.outcome, r.reasons)
            for p in shadows
            for r in (run(p),)
        )
        latency_us["policy"] = _us(t)

        if challenger is not None:
            t = time.perf_counter()
            challenged = self._challenge(challenger, features, deadline)
            latency_us["challenger"] = _us(t)
        else:
            challenged = None

        reasons = tuple(dict.fromkeys([*reasons, *fallbacks]))
        results = tuple(
            RuleResult(
                e.rule.id,
                e.rule.version,
                e.rule.status.value,
                e.rule.action.value,
                e.rule.reason,
                e.hit,
                e.error,
            )
            for e in evaluated.values()
            if e.hit or e.error or e.rule.status is Status.SHADOW
        )
        self.stats[f"outcome:{outcome.value}"] += 1
        for f in fallbacks:
            self.stats[f"fallback:{f}"] += 1
        latency_us["decide"] = _us(started)
        return Decision(
            decision_id=new_decision_id(),
            event_id=stored.event_id,
            event_type=event_type,
            outcome=outcome,
            reasons=reasons,
            decided_by=decided_by,
            decided_at=now,
            occurred_at=stored.occurred_at,
            policy=plan.policy.version_id if plan else None,
            score=score.value if score else None,
            model=champion.version if score and champion else None,
            contributions=score.contributions if score else (),
            rules=results,
            rule_versions={e.rule.id: e.rule.version for e in evaluated.values()},
            shadow=shadow,
            features=dict(features or {}),
            feature_set=feature_set,
            fallbacks=tuple(dict.fromkeys(fallbacks)),
            latency_us=dict(latency_us),
            challenger=challenged,
            canary=route.name if route is not None else None,
            step_up=step_up,
            screening=screening,
            credit=credit.result if credit is not None else None,
        )

    @staticmethod
    def _credit(
        plan: PolicyPlan | None,
        outcome: Outcome,
        stored: StoredEvent,
        evaluated: Mapping[str, Evaluation],
        score: Score | None,
        features: Mapping[str, Any] | None,
        now: datetime,
    ) -> Assessed:
        """The offer and notice of a credit application (see ``riskloop.credit.assess``):
        the deciding policy's decline rules that hit, else the score's drivers."""
        hits = [evaluated[c.rule.id] for c in plan.rules if c.rule.id in evaluated] if plan else []
        declined_by = [
            (e.rule.reason, e.rule.description)
            for e in hits
            if e.hit and e.rule.status is Status.ACTIVE and e.rule.action is Action.DECLINE
        ]
        return assess(
            stored.data,
            event_id=stored.event_id,
            outcome=outcome.value,
            pd=score.value if score else None,
            declined_by=declined_by,
            drivers=[(c.reason, c.feature) for c in score.contributions] if score else [],
            values=features or {},
            decided_on=now.date().isoformat(),
            table=plan.policy.credit if plan is not None else None,
        )
