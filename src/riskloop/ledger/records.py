"""A decision record holds everything needed to explain and reproduce a decision years
later: the outcome and its ordered reasons, the score and what drove it, the feature values
it saw, the versions of everything that took part, and how long each stage took."""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from riskloop.credit.assess import CreditResult
from riskloop.policy.model import Outcome
from riskloop.scoring.port import Contribution

_DIGIT_RUN = re.compile(r"\d{13}")


def new_decision_id(now_ms: int | None = None) -> str:
    """Time-ordered and unguessable: ``dec_`` + 12 hex of milliseconds + 16 random hex.

    Never 13 digits in a row: an id is copied into other events (labels), and stored text
    with a run that passes the Luhn check would be masked as a card number. Drawn again in
    that case (about one id in a thousand)."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    while True:
        made = f"dec_{ms:012x}{os.urandom(8).hex()}"
        if not _DIGIT_RUN.search(made):
            return made


@dataclass(frozen=True, slots=True)
class RuleResult:
    """One rule's result on one decision: hits, errors and shadow rules are recorded."""

    id: str
    version: int
    status: str
    action: str
    reason: str
    hit: bool
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "version": self.version,
            "status": self.status,
            "action": self.action,
            "reason": self.reason,
            "hit": self.hit,
        }
        if self.error:
            out["error"] = self.error
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RuleResult:
        return cls(
            d["id"], d["version"], d["status"], d["action"], d["reason"], d["hit"], d.get("error")
        )


@dataclass(frozen=True, slots=True)
class ShadowOutcome:
    """What a shadow policy version would have decided."""

    policy: str
    outcome: Outcome
    reasons: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"policy": self.policy, "outcome": self.outcome.value, "reasons": list(self.reasons)}


@dataclass(frozen=True, slots=True)
class ChallengerScore:
    """What the challenger model scored, beside the champion; it never changes the outcome."""

    model: str
    score: float
    contributions: tuple[Contribution, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "score": self.score,
            "contributions": [_contribution(c) for c in self.contributions],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ChallengerScore:
        return cls(d["model"], d["score"], tuple(_from_contribution(c) for c in d["contributions"]))


@dataclass(frozen=True, slots=True)
class ScreenedName:
    """A name in the event that resembled a sanctions/PEP list entry. Only the list's side
    is recorded (its entry and name, public data): the event's name stays in the vault."""

    field: str  # where in the event: payee.name, person, business.legal_name, new_name
    source: str
    entry_id: str
    name: str
    score: float
    alert: bool  # at or above the alert threshold
    suppressed: bool = False  # an analyst said this entry is not this customer
    pep: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "source": self.source,
            "entry_id": self.entry_id,
            "name": self.name,
            "score": self.score,
            "alert": self.alert,
            "suppressed": self.suppressed,
            "pep": self.pep,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ScreenedName:
        return cls(
            d["field"],
            d["source"],
            d["entry_id"],
            d["name"],
            d["score"],
            d["alert"],
            d.get("suppressed", False),
            d.get("pep", False),
        )


def _contribution(c: Contribution) -> dict[str, Any]:
    return {"feature": c.feature, "value": c.value, "reason": c.reason}


def _from_contribution(c: dict[str, Any]) -> Contribution:
    return Contribution(c["feature"], c["value"], c["reason"])


@dataclass(frozen=True, slots=True)
class Decision:
    decision_id: str
    event_id: str
    event_type: str
    outcome: Outcome
    reasons: tuple[str, ...]
    decided_by: str  # rule id, "model", "default" or "fallback"
    decided_at: datetime
    occurred_at: datetime
    policy: str | None  # id@version
    score: float | None = None
    model: str | None = None
    contributions: tuple[Contribution, ...] = ()
    rules: tuple[RuleResult, ...] = ()  # hits, errors and shadow results (misses omitted)
    rule_versions: dict[str, int] = field(default_factory=dict)  # every rule evaluated
    shadow: tuple[ShadowOutcome, ...] = ()
    features: dict[str, Any] = field(default_factory=dict)
    feature_set: str | None = None
    fallbacks: tuple[str, ...] = ()
    latency_us: dict[str, int] = field(default_factory=dict)
    challenger: ChallengerScore | None = None
    canary: str | None = None  # the canary whose candidate decided this event
    step_up: str | None = None  # with a challenge: how to step up, "3ds" or "mfa"
    screening: tuple[ScreenedName, ...] | None = None  # None: no name in it was screened
    credit: CreditResult | None = None  # credit applications: the offer and any notice

    def as_dict(self) -> dict[str, Any]:
        return {
            "decision_id": self.decision_id,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "outcome": self.outcome.value,
            "reasons": list(self.reasons),
            "decided_by": self.decided_by,
            "decided_at": self.decided_at.isoformat(),
            "occurred_at": self.occurred_at.isoformat(),
            "score": self.score,
            "model": self.model,
            "contributions": [_contribution(c) for c in self.contributions],
            "rules": [r.as_dict() for r in self.rules],
            "rule_versions": self.rule_versions,
            "policy": self.policy,
            "shadow": [s.as_dict() for s in self.shadow],
            "features": self.features,
            "feature_set": self.feature_set,
            "fallbacks": list(self.fallbacks),
            "latency_us": self.latency_us,
            "challenger": self.challenger.as_dict() if self.challenger else None,
            "canary": self.canary,
            "step_up": self.step_up,
            "screening": (
                [n.as_dict() for n in self.screening] if self.screening is not None else None
            ),
            "credit": self.credit.as_dict() if self.credit is not None else None,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Decision:
        return cls(
            decision_id=d["decision_id"],
            event_id=d["event_id"],
            event_type=d["event_type"],
            outcome=Outcome(d["outcome"]),
            reasons=tuple(d["reasons"]),
            decided_by=d["decided_by"],
            decided_at=datetime.fromisoformat(d["decided_at"]),
            occurred_at=datetime.fromisoformat(d["occurred_at"]),
            policy=d["policy"],
            score=d["score"],
            model=d["model"],
            contributions=tuple(_from_contribution(c) for c in d["contributions"]),
            rules=tuple(RuleResult.from_dict(r) for r in d["rules"]),
            rule_versions=dict(d["rule_versions"]),
            shadow=tuple(
                ShadowOutcome(s["policy"], Outcome(s["outcome"]), tuple(s["reasons"]))
                for s in d["shadow"]
            ),
            features=dict(d["features"]),
            feature_set=d["feature_set"],
            fallbacks=tuple(d["fallbacks"]),
            latency_us=dict(d["latency_us"]),
            challenger=ChallengerScore.from_dict(d["challenger"]) if d.get("challenger") else None,
            canary=d.get("canary"),
            step_up=d.get("step_up"),
            screening=(
                tuple(ScreenedName.from_dict(n) for n in d["screening"])
                if d.get("screening") is not None
                else None
            ),
            credit=CreditResult.from_dict(d["credit"]) if d.get("credit") else None,
        )
