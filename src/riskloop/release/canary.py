"""Canaries: a candidate model or policy serving a share of one event type's traffic, judged
by guardrails, rolled back on a breach and promoted step by step on success.

Routing is by a stable hash of the event's entity (customer, else account, else card), so a
customer sees one side for the whole canary and a step up only adds customers. The judgement
(:func:`judge`) is pure: it compares the canary's decisions with the rest of the same event
type's traffic over the current step, so a change in traffic moves both arms alike.

>>> bucket("salt", "cus_1") == bucket("salt", "cus_1"), 0 <= bucket("salt", "cus_1") < 1
(True, True)
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import pairwise
from typing import Any

from riskloop.errors import FieldError, InvalidInput


class Kind(StrEnum):
    MODEL = "model"  # a registered model version instead of the champion
    POLICY = "policy"  # a policy (with its rules) instead of the active one


class CanaryStatus(StrEnum):
    RUNNING = "running"
    PROMOTED = "promoted"
    ROLLED_BACK = "rolled_back"
    STOPPED = "stopped"  # ended by hand


@dataclass(frozen=True, slots=True)
class Guardrails:
    """A breach of any one rolls the canary back. Each compares the canary arm with the
    baseline arm over the current step, once both have ``min_decisions``."""

    min_decisions: int = 200
    latency_p99_ms: float = 50.0  # canary p99 may exceed baseline p99 by this much
    error_rate: float = 0.01  # canary model failures/fallbacks may exceed baseline by this
    decline_rate: float = 0.02  # absolute increase of the decline rate
    review_rate: float = 0.05  # absolute increase of the review rate
    score_psi: float = 0.25  # canary scores against baseline scores
    min_labelled_flags: int = 30  # precision is judged once this many flags are labelled
    precision_drop: float = 0.2  # canary precision may be this much below baseline

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Step:
    share: float  # of the event type's entities, in (0, 1]
    min_minutes: float  # before a healthy step moves on


DEFAULT_STEPS = (Step(0.05, 30), Step(0.25, 60), Step(0.5, 60), Step(1.0, 60))


@dataclass(frozen=True)
class Canary:
    canary_id: str
    kind: Kind
    event_type: str
    target: str  # the model name or the policy id
    candidate: str  # name@version / id@version
    baseline: str | None  # what serves the rest (and what a rollback keeps)
    owner: str
    steps: tuple[Step, ...]
    guardrails: Guardrails
    status: CanaryStatus
    step: int  # index into steps
    step_started_at: datetime
    created_at: datetime
    updated_at: datetime
    version: int = 1
    candidate_doc: Mapping[str, Any] | None = None  # a policy canary's rules and policy
    history: tuple[Mapping[str, Any], ...] = ()  # step changes and checks that acted
    last_check: Mapping[str, Any] | None = None
    cursor: str = ""  # the last decision read into the arms
    arms: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # this step's Arms

    def arm(self, name: str) -> Arm:
        return Arm.from_dict(self.arms.get(name))

    @property
    def share(self) -> float:
        return self.steps[self.step].share if self.status is CanaryStatus.RUNNING else 0.0

    @property
    def salt(self) -> str:
        return self.canary_id

    def with_(self, **changes: Any) -> Canary:
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return {
            "canary_id": self.canary_id,
            "kind": self.kind.value,
            "event_type": self.event_type,
            "target": self.target,
            "candidate": self.candidate,
            "baseline": self.baseline,
            "owner": self.owner,
            "steps": [{"share": s.share, "min_minutes": s.min_minutes} for s in self.steps],
            "guardrails": self.guardrails.as_dict(),
            "status": self.status.value,
            "step": self.step,
            "share": self.share,
            "step_started_at": self.step_started_at.isoformat(),
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "version": self.version,
            "candidate_doc": dict(self.candidate_doc) if self.candidate_doc else None,
            "history": [dict(h) for h in self.history],
            "last_check": dict(self.last_check) if self.last_check else None,
            "cursor": self.cursor,
            "arms": {k: dict(v) for k, v in self.arms.items()},
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Canary:
        return cls(
            canary_id=d["canary_id"],
            kind=Kind(d["kind"]),
            event_type=d["event_type"],
            target=d["target"],
            candidate=d["candidate"],
            baseline=d["baseline"],
            owner=d["owner"],
            steps=tuple(Step(float(s["share"]), float(s["min_minutes"])) for s in d["steps"]),
            guardrails=Guardrails(**d["guardrails"]),
            status=CanaryStatus(d["status"]),
            step=int(d["step"]),
            step_started_at=datetime.fromisoformat(d["step_started_at"]),
            created_at=datetime.fromisoformat(d["created_at"]),
            updated_at=datetime.fromisoformat(d["updated_at"]),
            version=int(d["version"]),
            candidate_doc=d.get("candidate_doc"),
            history=tuple(d.get("history") or ()),
            last_check=d.get("last_check"),
            cursor=d.get("cursor", ""),
            arms=d.get("arms") or {},
        )


def bucket(salt: str, key: str) -> float:
    """A stable position in [0, 1) for an entity: the same for every process and host."""
    digest = hashlib.blake2b(f"{salt}\x1f{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def parse_steps(raw: Any) -> tuple[Step, ...]:
    """Steps from ``[{"share": 0.05, "min_minutes": 30}, …]``: shares rising, the last 1."""
    if raw is None:
        return DEFAULT_STEPS
    if not isinstance(raw, list) or not raw:
        raise InvalidInput([FieldError("steps", "a non-empty list of {share, min_minutes}")])
    steps, errors = [], []
    for i, item in enumerate(raw):
        share = item.get("share") if isinstance(item, dict) else None
        minutes = item.get("min_minutes", 0) if isinstance(item, dict) else None
        if not isinstance(share, int | float) or isinstance(share, bool) or not 0 < share <= 1:
            errors.append(FieldError(f"steps[{i}].share", "a share in (0, 1]"))
            continue
        if not isinstance(minutes, int | float) or isinstance(minutes, bool) or minutes < 0:
            errors.append(FieldError(f"steps[{i}].min_minutes", "minutes, 0 or more"))
            continue
        steps.append(Step(float(share), float(minutes)))
    if not errors and any(b.share <= a.share for a, b in pairwise(steps)):
        errors.append(FieldError("steps", "shares must rise from step to step"))
    if errors:
        raise InvalidInput(errors)
    return tuple(steps)


def parse_guardrails(raw: Any) -> Guardrails:
    if raw is None:
        return Guardrails()
    if not isinstance(raw, dict):
        raise InvalidInput([FieldError("guardrails", "must be an object")])
    known = set(Guardrails.__dataclass_fields__)
    errors = [FieldError(f"guardrails.{k}", "unknown guardrail") for k in sorted(set(raw) - known)]
    for k, v in raw.items():
        if k in known and (not isinstance(v, int | float) or isinstance(v, bool) or v < 0):
            errors.append(FieldError(f"guardrails.{k}", "must be a number, 0 or more"))
    if errors:
        raise InvalidInput(errors)
    base = Guardrails()
    return Guardrails(**{k: type(getattr(base, k))(v) for k, v in raw.items()})


LATENCY_EDGES_MS = (0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300, 500, 1000)
SCORE_BINS = 20
MAX_FLAGGED = 5000  # flagged event ids kept per arm for precision as labels arrive


@dataclass
class Arm:
    """What one arm did over the current step, aggregated as decisions are read (histograms,
    not values, so a long step costs the same to judge as a short one)."""

    outcomes: dict[str, int] = field(default_factory=dict)
    errors: int = 0  # decisions with a model fallback
    latency: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_EDGES_MS) + 1))
    scores: list[int] = field(default_factory=lambda: [0] * SCORE_BINS)
    flagged: list[str] = field(default_factory=list)  # event ids of the latest flags

    @property
    def decisions(self) -> int:
        return sum(self.outcomes.values())

    def rate(self, outcome: str) -> float:
        return self.outcomes.get(outcome, 0) / self.decisions if self.decisions else 0.0

    def add(
        self, outcome: str, latency_ms: float, score: float | None, error: bool, event_id: str
    ) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        self.errors += error
        self.latency[bisect_left(LATENCY_EDGES_MS, latency_ms)] += 1
        if score is not None:
            self.scores[min(SCORE_BINS - 1, max(0, int(score * SCORE_BINS)))] += 1
        if outcome != "approve":
            self.flagged.append(event_id)
            del self.flagged[:-MAX_FLAGGED]

    def p99_ms(self) -> float:
        """The upper edge of the latency bucket holding the 99th percentile."""
        total, seen = sum(self.latency), 0
        for i, n in enumerate(self.latency):
            seen += n
            if total and seen >= 0.99 * total:
                return float(LATENCY_EDGES_MS[i]) if i < len(LATENCY_EDGES_MS) else 2000.0
        return 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> Arm:
        if not d:
            return cls()
        return cls(
            outcomes=dict(d["outcomes"]),
            errors=int(d["errors"]),
            latency=list(d["latency"]),
            scores=list(d["scores"]),
            flagged=list(d["flagged"]),
        )


@dataclass(frozen=True, slots=True)
class Verdict:
    action: str  # wait, hold, advance, promote, rollback
    breaches: tuple[str, ...]
    measures: Mapping[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action, "breaches": list(self.breaches), "measures": self.measures}


def _precision(arm: Arm, labels: Mapping[str, bool]) -> tuple[int, int]:
    verdicts = [labels[e] for e in arm.flagged if e in labels]
    return sum(verdicts), len(verdicts)


def judge(
    canary: Canary, test: Arm, base: Arm, labels: Mapping[str, bool], now: datetime
) -> Verdict:
    """Roll back on any breach; otherwise move on once the step has lasted its minutes and
    both arms have enough decisions (the last step moves on to promotion). ``labels``: the
    verdicts known now for the flagged events of both arms."""
    g = canary.guardrails
    measures: dict[str, Any] = {
        "canary_decisions": test.decisions,
        "baseline_decisions": base.decisions,
    }
    if test.decisions < g.min_decisions or base.decisions < g.min_decisions:
        # A canary that fails most calls breaches before the minimum: do not wait for it.
        if test.decisions >= 20 and test.errors / test.decisions > 0.5:
            measures["error_rate"] = {"canary": round(test.errors / test.decisions, 6)}
            return Verdict("rollback", ("error_rate",), measures)
        return Verdict("wait", (), measures)
    breaches: list[str] = []
    p99_test, p99_base = test.p99_ms(), base.p99_ms()
    measures["latency_p99_ms"] = {"canary": p99_test, "baseline": p99_base}
    if p99_test - p99_base > g.latency_p99_ms:
        breaches.append("latency_p99")
    err_test, err_base = test.errors / test.decisions, base.errors / base.decisions
    measures["error_rate"] = {"canary": round(err_test, 6), "baseline": round(err_base, 6)}
    if err_test - err_base > g.error_rate:
        breaches.append("error_rate")
    for outcome, limit in (("decline", g.decline_rate), ("review", g.review_rate)):
        t, b = test.rate(outcome), base.rate(outcome)
        measures[f"{outcome}_rate"] = {"canary": round(t, 6), "baseline": round(b, 6)}
        if t - b > limit:
            breaches.append(f"{outcome}_rate")
    if sum(test.scores) >= g.min_decisions and sum(base.scores) >= g.min_decisions:
        from riskloop.training.compare import psi_of_counts  # numpy, scikit-learn: on use

        shift = psi_of_counts(base.scores, test.scores)
        measures["score_psi"] = shift
        if shift >= g.score_psi:
            breaches.append("score_psi")
    (tf, tl), (bf, bl) = _precision(test, labels), _precision(base, labels)
    if tl >= g.min_labelled_flags and bl >= g.min_labelled_flags:
        measures["precision"] = {"canary": round(tf / tl, 6), "baseline": round(bf / bl, 6)}
        if bf / bl - tf / tl > g.precision_drop:
            breaches.append("precision")
    if breaches:
        return Verdict("rollback", tuple(breaches), measures)
    step = canary.steps[canary.step]
    if now - canary.step_started_at < timedelta(minutes=step.min_minutes):
        return Verdict("hold", (), measures)
    last = canary.step == len(canary.steps) - 1
    return Verdict("promote" if last else "advance", (), measures)
