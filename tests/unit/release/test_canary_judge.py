"""The canary's judgement: wait for enough decisions, roll back on each guardrail, hold for
the step's minutes, then advance and finally promote."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from riskloop.errors import InvalidInput
from riskloop.release.canary import (
    Arm,
    Canary,
    CanaryStatus,
    Guardrails,
    Kind,
    Step,
    bucket,
    judge,
    parse_guardrails,
    parse_steps,
)

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _canary(**kw: object) -> Canary:
    base = {
        "canary_id": "can_x",
        "kind": Kind.MODEL,
        "event_type": "card_payment",
        "target": "fraud",
        "candidate": "fraud@2",
        "baseline": "fraud@1",
        "owner": "ana",
        "steps": (Step(0.1, 30), Step(1.0, 30)),
        "guardrails": Guardrails(min_decisions=100, min_labelled_flags=10),
        "status": CanaryStatus.RUNNING,
        "step": 0,
        "step_started_at": T0,
        "created_at": T0,
        "updated_at": T0,
    }
    return Canary(**{**base, **kw})  # type: ignore[arg-type]


def _arm(
    n: int,
    *,
    declines: int = 0,
    errors: int = 0,
    latency_ms: float = 3,
    score: float = 0.1,
    prefix: str = "e",
) -> Arm:
    arm = Arm()
    for i in range(n):
        outcome = "decline" if i < declines else "approve"
        arm.add(outcome, latency_ms, score + (i % 10) / 100, i < errors, f"{prefix}{i}")
    return arm


LATER = T0 + timedelta(minutes=31)


def test_waits_until_both_arms_have_enough_decisions() -> None:
    verdict = judge(_canary(), _arm(50), _arm(500), {}, LATER)
    assert verdict.action == "wait"


def test_a_canary_failing_most_calls_is_rolled_back_before_the_minimum() -> None:
    verdict = judge(_canary(), _arm(30, errors=25), _arm(500), {}, LATER)
    assert (verdict.action, verdict.breaches) == ("rollback", ("error_rate",))


@pytest.mark.parametrize(
    ("test", "breach"),
    [
        (_arm(200, declines=20), "decline_rate"),  # 10 % against 0 %
        (_arm(200, errors=10), "error_rate"),
        (_arm(200, latency_ms=120), "latency_p99"),
        (_arm(200, score=0.8), "score_psi"),
    ],
)
def test_each_guardrail_rolls_back(test: Arm, breach: str) -> None:
    verdict = judge(_canary(), test, _arm(500), {}, LATER)
    assert verdict.action == "rollback"
    assert breach in verdict.breaches


def test_precision_is_judged_once_enough_flags_are_labelled() -> None:
    test = _arm(200, declines=2, prefix="t")  # within the decline guardrail
    base = _arm(500, declines=12, prefix="b")
    g = Guardrails(min_decisions=100, min_labelled_flags=2, decline_rate=0.5)
    labels = {"t0": False, "t1": False, "b0": True, "b1": True, "b2": False}
    verdict = judge(_canary(guardrails=g), test, base, labels, LATER)
    assert "precision" in verdict.breaches
    assert verdict.measures["precision"] == {"canary": 0.0, "baseline": 0.666667}
    few = judge(_canary(guardrails=g), test, base, {"t0": False}, LATER)
    assert "precision" not in few.breaches  # one labelled canary flag is not evidence


def test_a_healthy_step_holds_for_its_minutes_then_advances_then_promotes() -> None:
    test, base = _arm(200), _arm(500)
    assert judge(_canary(), test, base, {}, T0 + timedelta(minutes=5)).action == "hold"
    assert judge(_canary(), test, base, {}, LATER).action == "advance"
    assert judge(_canary(step=1), test, base, {}, LATER).action == "promote"


def test_arm_aggregates_survive_a_round_trip() -> None:
    arm = _arm(300, declines=30, errors=3)
    again = Arm.from_dict(arm.as_dict())
    assert again == arm and again.decisions == 300 and again.rate("decline") == 0.1
    assert arm.p99_ms() == 3.0
    assert len(_arm(6000, declines=6000).flagged) == 5000  # bounded


def test_bucket_is_stable_and_uniform() -> None:
    values = [bucket("s", f"cus-{i}") for i in range(10_000)]
    assert values == [bucket("s", f"cus-{i}") for i in range(10_000)]
    assert 0.45 < sum(v < 0.5 for v in values) / len(values) < 0.55
    assert bucket("s", "cus-1") != bucket("other", "cus-1")  # salted per canary


def test_steps_and_guardrails_are_checked_with_their_field() -> None:
    assert parse_steps(None)[-1].share == 1.0
    assert parse_steps([{"share": 0.2, "min_minutes": 5}, {"share": 1}])[1] == Step(1.0, 0)
    for raw, field in [
        ([], "steps"),
        ([{"share": 0}], "steps[0].share"),
        ([{"share": 0.5, "min_minutes": -1}], "steps[0].min_minutes"),
        ([{"share": 0.5}, {"share": 0.5}], "steps"),
    ]:
        with pytest.raises(InvalidInput) as exc:
            parse_steps(raw)
        assert exc.value.errors[0].field == field
    assert parse_guardrails({"decline_rate": 0.05}).decline_rate == 0.05
    assert parse_guardrails({"min_decisions": 50}).min_decisions == 50
    with pytest.raises(InvalidInput) as exc:
        parse_guardrails({"decline_rate": "high", "speed": 1})
    assert {e.field for e in exc.value.errors} == {"guardrails.decline_rate", "guardrails.speed"}


def test_a_canary_survives_its_json_form() -> None:
    canary = _canary(arms={"canary": _arm(3).as_dict()}, cursor="dec_1")
    again = Canary.from_dict(canary.as_dict())
    assert again == canary
    assert again.share == 0.1 and again.arm("canary").decisions == 3
    assert again.with_(status=CanaryStatus.ROLLED_BACK).share == 0.0
