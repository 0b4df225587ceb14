"""Policy semantics as documented in ``riskloop.policy.evaluate``."""

from __future__ import annotations

import pytest

from riskloop.errors import InvalidInput
from riskloop.policy import Mode, Outcome, Policy, evaluate, policy_from_dict
from riskloop.policy.model import Thresholds
from riskloop.rules.cel import Evaluation
from riskloop.rules.model import Action, Rule

TYPES = ("card_payment", "transfer")


def hit(rule_id: str, action: Action, *, hit: bool = True) -> Evaluation:
    return Evaluation(Rule(rule_id, "true", rule_id.upper(), action), hit)


POLICY = Policy("p", ("card_payment",), thresholds=Thresholds(0.5, 0.7, 0.9))


@pytest.mark.parametrize(
    ("hits", "score", "step_up", "outcome", "reasons"),
    [
        ([], 0.1, False, Outcome.APPROVE, ()),
        ([hit("rv", Action.REVIEW)], 0.1, False, Outcome.REVIEW, ("RV",)),
        # stage order: challenge, allow, decline, review
        (
            [hit("rv", Action.REVIEW), hit("dc", Action.DECLINE), hit("ch", Action.CHALLENGE)],
            0.1,
            False,
            Outcome.CHALLENGE,
            ("CH", "RV", "DC"),
        ),
        (
            [hit("dc", Action.DECLINE), hit("al", Action.ALLOW)],
            0.1,
            False,
            Outcome.APPROVE,
            ("AL", "DC"),
        ),
        (
            [hit("ch", Action.CHALLENGE), hit("al", Action.ALLOW)],
            0.1,
            False,
            Outcome.CHALLENGE,
            ("CH", "AL"),
        ),
        # a passed step-up answers challenge hits and the challenge threshold
        (
            [hit("ch", Action.CHALLENGE), hit("rv", Action.REVIEW)],
            0.1,
            True,
            Outcome.REVIEW,
            ("RV",),
        ),
        ([], 0.75, True, Outcome.REVIEW, ("MODEL_HIGH_RISK", "M1")),
        # thresholds, the cut-off itself included
        ([], 0.5, False, Outcome.REVIEW, ("MODEL_HIGH_RISK", "M1")),
        ([], 0.7, False, Outcome.CHALLENGE, ("MODEL_HIGH_RISK", "M1")),
        ([], 0.9, False, Outcome.DECLINE, ("MODEL_HIGH_RISK", "M1")),
        ([], None, False, Outcome.APPROVE, ()),
        # tags only add their reason; misses add nothing
        (
            [hit("tg", Action.TAG), hit("dc", Action.DECLINE, hit=False)],
            0.1,
            False,
            Outcome.APPROVE,
            ("TG",),
        ),
        # a rule beats the model at the same stage; the model's reasons follow
        (
            [hit("dc", Action.DECLINE)],
            0.95,
            False,
            Outcome.DECLINE,
            ("DC", "MODEL_HIGH_RISK", "M1"),
        ),
    ],
)
def test_most_severe(
    hits: list[Evaluation],
    score: float | None,
    step_up: bool,
    outcome: Outcome,
    reasons: tuple[str, ...],
) -> None:
    result = evaluate(POLICY, hits, score, ["M1"], step_up_done=step_up)
    assert (result.outcome, result.reasons) == (outcome, reasons)


def test_allow_does_not_override_when_the_policy_says_so() -> None:
    strict = POLICY.with_(allow_overrides_block=False)
    hits = [hit("al", Action.ALLOW), hit("dc", Action.DECLINE)]
    result = evaluate(strict, hits, 0.1, [], step_up_done=False)
    assert (result.outcome, result.decided_by) == (Outcome.DECLINE, "dc")


def test_first_match_takes_the_first_hit_in_order() -> None:
    policy = POLICY.with_(mode=Mode.FIRST_MATCH)
    hits = [hit("tg", Action.TAG), hit("rv", Action.REVIEW), hit("dc", Action.DECLINE)]
    result = evaluate(policy, hits, 0.95, ["M1"], step_up_done=False)
    assert (result.outcome, result.decided_by) == (Outcome.REVIEW, "rv")
    assert result.reasons == ("RV", "TG", "DC", "MODEL_HIGH_RISK", "M1")
    stepped = evaluate(policy, [hit("ch", Action.CHALLENGE)], 0.1, [], step_up_done=True)
    assert stepped.outcome is Outcome.APPROVE
    by_model = evaluate(policy, [], 0.95, ["M1"], step_up_done=False)
    assert (by_model.outcome, by_model.decided_by) == (Outcome.DECLINE, "model")


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"id": "P", "event_types": ["card_payment"]}, "id"),
        ({"id": "p", "event_types": []}, "event_types"),
        ({"id": "p", "event_types": ["nope"]}, "event_types[0]"),
        (
            {"id": "p", "event_types": ["card_payment"], "thresholds": {"review": 1.5}},
            "thresholds.review",
        ),
        (
            {"id": "p", "event_types": ["card_payment"], "thresholds": {"review": True}},
            "thresholds.review",
        ),
        (
            {"id": "p", "event_types": ["card_payment"], "thresholds": {"block": 0.5}},
            "thresholds.block",
        ),
        (
            {
                "id": "p",
                "event_types": ["card_payment"],
                "thresholds": {"review": 0.9, "decline": 0.5},
            },
            "thresholds.decline",
        ),
        ({"id": "p", "event_types": ["card_payment"], "mode": "best"}, "mode"),
        ({"id": "p", "event_types": ["card_payment"], "rules": "all"}, "rules"),
        (
            {"id": "p", "event_types": ["card_payment"], "allow_overrides_block": "yes"},
            "allow_overrides_block",
        ),
        ({"id": "p", "event_types": ["card_payment"], "colour": 1}, "colour"),
    ],
)
def test_bad_policies_name_the_field(doc: dict, field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        policy_from_dict(doc, known_types=TYPES)
    assert field in [e.field for e in err.value.errors]
