"""From rule hits and a score to one outcome and its ordered reasons.

Two modes, both with step-up first (as card networks and Stripe Radar order them: a
customer who can prove who they are should be asked to before being turned away):

``most_severe`` (default): every rule is evaluated; stages are taken in this order and the
first stage with a hit decides:

1. **challenge**: a challenge rule hit, or ``score >= thresholds.challenge`` — unless the
   event already passed step-up (``three_ds: authenticated``, ``mfa: passed``), in which
   case challenge hits are skipped (the step-up answered them);
2. **allow**: an allow rule hit and ``allow_overrides_block`` — approve despite the rest;
3. **decline**: a decline rule hit, or ``score >= thresholds.decline``;
4. **review**: a review rule hit, or ``score >= thresholds.review``;
5. otherwise **approve**.

``first_match``: rules in the policy's order; the first hit (other than ``tag``) decides, a
challenge hit skipped after a passed step-up; if none hits, the score thresholds decide
(decline, then challenge, then review); otherwise approve.

Reasons: the deciding stage's reasons first (rule order), then every other active hit's,
then, when the score crossed a threshold, ``MODEL_HIGH_RISK`` and the model's reasons.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from riskloop.policy.model import Mode, Outcome, Policy
from riskloop.rules.cel import Evaluation
from riskloop.rules.model import Action

MODEL_HIGH_RISK = "MODEL_HIGH_RISK"
_STAGES = (
    (Action.CHALLENGE, Outcome.CHALLENGE),
    (Action.ALLOW, Outcome.APPROVE),
    (Action.DECLINE, Outcome.DECLINE),
    (Action.REVIEW, Outcome.REVIEW),
)


@dataclass(frozen=True, slots=True)
class PolicyResult:
    outcome: Outcome
    reasons: tuple[str, ...]
    decided_by: str  # a rule id, "model" or "default"


def stepped_up(event: Mapping[str, Any]) -> bool:
    """Whether the event carries a passed step-up: ``three_ds: authenticated`` (card
    payments) or ``mfa: passed`` (logins, transfers, account changes, card payments).

    >>> stepped_up({"event_type": "transfer", "mfa": "passed"})
    True
    >>> stepped_up({"event_type": "account_change", "mfa": "failed"})
    False
    """
    return event.get("three_ds") == "authenticated" or event.get("mfa") == "passed"


def _model_action(policy: Policy, score: float | None, *, step_up_done: bool) -> Action | None:
    t = policy.thresholds
    if score is None:
        return None
    if t.decline is not None and score >= t.decline:
        return Action.DECLINE
    if t.challenge is not None and score >= t.challenge and not step_up_done:
        return Action.CHALLENGE
    if t.review is not None and score >= t.review:
        return Action.REVIEW
    return None


def _dedupe(codes: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(codes))


def evaluate(
    policy: Policy,
    hits: Sequence[Evaluation],
    score: float | None,
    model_reasons: Sequence[str],
    *,
    step_up_done: bool,
) -> PolicyResult:
    """``hits``: the evaluations of the policy's active rules, in the policy's order."""
    fired = [h for h in hits if h.hit and not (h.rule.action is Action.CHALLENGE and step_up_done)]
    model_action = _model_action(policy, score, step_up_done=step_up_done)
    model_codes = [MODEL_HIGH_RISK, *model_reasons] if model_action else []
    all_codes = [h.rule.reason for h in fired]

    if policy.mode is Mode.FIRST_MATCH:
        first = next((h for h in fired if h.rule.action is not Action.TAG), None)
        if first is not None:
            outcome = dict(_STAGES)[first.rule.action]
            return PolicyResult(
                outcome, _dedupe([first.rule.reason, *all_codes, *model_codes]), first.rule.id
            )
        if model_action is not None:
            outcome = dict(_STAGES)[model_action]
            return PolicyResult(outcome, _dedupe([*model_codes, *all_codes]), "model")
        return PolicyResult(Outcome.APPROVE, _dedupe(all_codes), "default")

    for action, outcome in _STAGES:
        if action is Action.ALLOW and not policy.allow_overrides_block:
            continue
        stage = [h for h in fired if h.rule.action is action]
        if stage:
            codes = [h.rule.reason for h in stage]
            return PolicyResult(
                outcome, _dedupe([*codes, *all_codes, *model_codes]), stage[0].rule.id
            )
        if model_action is action:
            return PolicyResult(outcome, _dedupe([*model_codes, *all_codes]), "model")
    return PolicyResult(Outcome.APPROVE, _dedupe([*all_codes, *model_codes]), "default")
