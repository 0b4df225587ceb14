"""A policy says, for some event types, which rules decide, in which order, with which
model-score thresholds, and how hits combine (see :mod:`riskloop.policy.evaluate`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from riskloop.credit.inputs import CREDIT_TYPES
from riskloop.credit.terms import PriceTable, table_from_dict
from riskloop.errors import FieldError, InvalidInput


class Outcome(StrEnum):
    APPROVE = "approve"
    REVIEW = "review"
    CHALLENGE = "challenge"  # step-up: 3-D Secure, MFA
    DECLINE = "decline"


class Mode(StrEnum):
    MOST_SEVERE = "most_severe"
    FIRST_MATCH = "first_match"


class PolicyStatus(StrEnum):
    ACTIVE = "active"  # decides (one version per policy, one policy per event type)
    SHADOW = "shadow"  # evaluated on live traffic and recorded beside the decision
    RETIRED = "retired"


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Model-score cut-offs; ``None`` disables that outcome for the model."""

    review: float | None = None
    challenge: float | None = None
    decline: float | None = None

    def as_dict(self) -> dict[str, float | None]:
        return {"review": self.review, "challenge": self.challenge, "decline": self.decline}


STEP_UP_METHODS = ("3ds", "mfa")
# 3-D Secure authenticates card payments; every other event steps up with the customer's MFA.
_STEP_UP_BY_TYPE = {"card_payment": "3ds"}


@dataclass(frozen=True, slots=True)
class Policy:
    id: str
    event_types: tuple[str, ...]
    rules: tuple[str, ...] | None = None  # None: every rule for these event types, by priority
    thresholds: Thresholds = Thresholds()
    mode: Mode = Mode.MOST_SEVERE
    allow_overrides_block: bool = True
    step_up_method: str | None = None  # None: by event type (see step_up_for)
    credit: PriceTable | None = None  # credit applications: grades, prices, limits
    description: str = ""
    version: int = 1
    status: PolicyStatus = PolicyStatus.ACTIVE
    author: str = ""
    note: str = ""
    saved_at: datetime | None = None

    @property
    def version_id(self) -> str:
        return f"{self.id}@{self.version}"

    def with_(self, **changes: Any) -> Policy:
        return replace(self, **changes)

    def step_up_for(self, event_type: str) -> str:
        """How a ``challenge`` on ``event_type`` steps up: the policy's method, else 3-D
        Secure for card payments and MFA for the rest.

        >>> p = Policy("p", ("card_payment", "login"))
        >>> p.step_up_for("card_payment"), p.step_up_for("login")
        ('3ds', 'mfa')
        >>> p.with_(step_up_method="mfa").step_up_for("card_payment")
        'mfa'
        """
        return self.step_up_method or _STEP_UP_BY_TYPE.get(event_type, "mfa")

    def as_doc(self) -> dict[str, Any]:
        """The document that saves this policy again (no version, status or authorship)."""
        d = self.as_dict()
        return {k: d[k] for k in _DOC_KEYS}

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "version": self.version,
            "status": self.status.value,
            "event_types": list(self.event_types),
            "rules": list(self.rules) if self.rules is not None else None,
            "thresholds": self.thresholds.as_dict(),
            "mode": self.mode.value,
            "allow_overrides_block": self.allow_overrides_block,
            "step_up_method": self.step_up_method,
            "credit": self.credit.as_dict() if self.credit is not None else None,
            "description": self.description,
            "author": self.author,
            "note": self.note,
            "saved_at": self.saved_at.isoformat() if self.saved_at else None,
        }


_ID = re.compile(r"^[a-z][a-z0-9_\-]{0,63}$")
_DOC_KEYS = (
    "id",
    "event_types",
    "rules",
    "thresholds",
    "mode",
    "allow_overrides_block",
    "step_up_method",
    "credit",
    "description",
)
_FIELDS = frozenset(
    {
        "id",
        "event_types",
        "rules",
        "thresholds",
        "mode",
        "allow_overrides_block",
        "step_up_method",
        "credit",
        "description",
        "status",
        "author",
        "note",
    }
)


def _threshold(raw: Any, where: str, errors: list[FieldError]) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0.0 <= raw <= 1.0:
        errors.append(FieldError(where, "must be a number from 0 to 1, or null"))
        return None
    return float(raw)


def policy_from_dict(doc: Any, *, known_types: tuple[str, ...]) -> Policy:
    """Parse a policy document; every problem is reported with its field."""
    if not isinstance(doc, dict):
        raise InvalidInput([FieldError("policy", "must be an object")])
    errors = [FieldError(k, "unknown field") for k in sorted(set(doc) - _FIELDS)]
    pid = doc.get("id")
    if not isinstance(pid, str) or not _ID.match(pid):
        errors.append(FieldError("id", "must be 1-64 of a-z, 0-9, _ and -, starting with a letter"))
    types = doc.get("event_types")
    if not isinstance(types, list) or not types or not all(isinstance(t, str) for t in types):
        errors.append(FieldError("event_types", "must be a non-empty list of event types"))
        types = []
    for i, t in enumerate(types):
        if t not in known_types:
            errors.append(FieldError(f"event_types[{i}]", f"unknown event type {t!r}"))
    rules = doc.get("rules")
    if rules is not None and (
        not isinstance(rules, list) or not all(isinstance(r, str) for r in rules)
    ):
        errors.append(FieldError("rules", "must be a list of rule ids, or null for all"))
        rules = None
    raw_thresholds = doc.get("thresholds") or {}
    if not isinstance(raw_thresholds, dict):
        errors.append(FieldError("thresholds", "must be an object"))
        raw_thresholds = {}
    for k in sorted(set(raw_thresholds) - {"review", "challenge", "decline"}):
        errors.append(FieldError(f"thresholds.{k}", "unknown threshold"))
    thresholds = Thresholds(
        *(
            _threshold(raw_thresholds.get(k), f"thresholds.{k}", errors)
            for k in Thresholds.__slots__
        )
    )
    cut = [
        v for v in (thresholds.review, thresholds.challenge, thresholds.decline) if v is not None
    ]
    if thresholds.decline is not None and any(v > thresholds.decline for v in cut):
        errors.append(FieldError("thresholds.decline", "must be the highest threshold"))
    mode = status = None
    try:
        mode = Mode(doc.get("mode", "most_severe"))
    except ValueError:
        errors.append(FieldError("mode", "must be most_severe or first_match"))
    try:
        status = PolicyStatus(doc.get("status", "active"))
    except ValueError:
        errors.append(FieldError("status", "must be active, shadow or retired"))
    override = doc.get("allow_overrides_block", True)
    if not isinstance(override, bool):
        errors.append(FieldError("allow_overrides_block", "must be true or false"))
    step_up = doc.get("step_up_method")
    if step_up is not None and step_up not in STEP_UP_METHODS:
        errors.append(FieldError("step_up_method", "must be 3ds, mfa or null (by event type)"))
    elif step_up == "3ds" and any(t != "card_payment" for t in types):
        errors.append(FieldError("step_up_method", "3ds authenticates card payments only"))
    credit = None
    if doc.get("credit") is not None:
        if not set(types) & CREDIT_TYPES:
            errors.append(FieldError("credit", "only for policies on credit_application"))
        else:
            try:
                credit = table_from_dict(doc["credit"])
            except InvalidInput as exc:
                errors.extend(exc.errors)
    texts = {k: doc.get(k, "") for k in ("description", "author", "note")}
    for k, v in texts.items():
        if not isinstance(v, str) or len(v) > 500:
            errors.append(FieldError(k, "must be text of at most 500 characters"))
    if errors:
        raise InvalidInput(errors)
    assert mode is not None
    assert status is not None
    return Policy(
        id=pid,  # type: ignore[arg-type]
        event_types=tuple(types),
        rules=tuple(rules) if rules is not None else None,
        thresholds=thresholds,
        mode=mode,
        allow_overrides_block=override,
        step_up_method=step_up,
        credit=credit,
        status=status,
        **texts,
    )
