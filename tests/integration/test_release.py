"""Release stores and the candidate playbook on SQLite and PostgreSQL: one running canary
per event type, compare-and-set changes, backtests kept with their reports; a candidate
changes nothing in force, and a backtest reuses recorded hits of unchanged rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from riskloop.adapters.sql.release import SqlBacktests, SqlCanaries
from riskloop.bootstrap import Riskloop
from riskloop.errors import ConflictError, InvalidInput
from riskloop.ledger.audit import AuditEntry
from riskloop.release.backtest import Candidate, from_decisions
from riskloop.release.canary import Canary, CanaryStatus, Guardrails, Kind, Step
from tests.support.playbooks import REVIEW_LARGE, review_large_payments

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _canary(canary_id: str, event_type: str = "card_payment") -> Canary:
    return Canary(
        canary_id=canary_id,
        kind=Kind.MODEL,
        event_type=event_type,
        target="fraud",
        candidate="fraud@2",
        baseline="fraud@1",
        owner="ana",
        steps=(Step(0.1, 0), Step(1.0, 0)),
        guardrails=Guardrails(),
        status=CanaryStatus.RUNNING,
        step=0,
        step_started_at=T0,
        created_at=T0,
        updated_at=T0,
    )


def _audit(key: str) -> AuditEntry:
    return AuditEntry("ana", "canary.start", "canary", key, {}, T0)


def test_one_running_canary_per_event_type_and_compare_and_set(any_rl: Riskloop) -> None:
    store = SqlCanaries(any_rl.engine)
    first = store.create(_canary("can_a"), _audit("can_a"))
    with pytest.raises(ConflictError):
        store.create(_canary("can_b"), _audit("can_b"))
    store.create(_canary("can_c", "transfer"), _audit("can_c"))  # another event type

    moved = store.update(first, first.with_(step=1), None)
    assert moved.version == 2 and store.get("can_a") == moved
    with pytest.raises(ConflictError):
        store.update(first, first.with_(status=CanaryStatus.ROLLED_BACK), None)  # stale
    ended = store.update(moved, moved.with_(status=CanaryStatus.ROLLED_BACK), _audit("can_a"))
    assert [c.canary_id for c in store.all(status="running")] == ["can_c"]
    store.create(_canary("can_d"), _audit("can_d"))  # the event type is free again
    assert ended.status is CanaryStatus.ROLLED_BACK
    keys = [e.key for e in any_rl.catalog.store.audit().iterate()]
    assert keys == ["can_a", "can_c", "can_a", "can_d"]  # the failed create left none


def test_backtests_are_kept_with_their_reports(any_rl: Riskloop) -> None:
    store = SqlBacktests(any_rl.engine)
    store.create("bt_1", {"since": "x"}, "ana", T0)
    store.create("bt_2", {"since": "y"}, "bo", T0.replace(hour=1))
    store.finish("bt_1", {"events": 3}, T0)
    store.fail("bt_2", "boom", T0)
    one = store.get("bt_1")
    assert one is not None and (one["status"], one["report"]) == ("done", {"events": 3})
    assert [b["backtest_id"] for b in store.recent()] == ["bt_2", "bt_1"]
    assert "report" not in store.recent()[0]
    assert store.get("bt_missing") is None


def test_a_candidate_playbook_changes_nothing_in_force(rl: Riskloop) -> None:
    review_large_payments(rl)
    lower = {**REVIEW_LARGE, "expression": "event.amount >= 5000"}
    playbook, changed = rl.catalog.candidate(
        rules=[lower, REVIEW_LARGE | {"id": "same"}], policies=[]
    )
    assert changed == {"big", "same"}
    (big,) = [c for c in playbook.active["card_payment"].rules if c.rule.id == "big"]
    assert big.rule.version == 2 and big.rule.expression == "event.amount >= 5000"
    _, nothing = rl.catalog.candidate(rules=[REVIEW_LARGE], policies=[])
    assert nothing == frozenset()
    assert rl.catalog.rule("big").version == 1  # nothing saved
    assert rl.catalog.playbook().active["card_payment"].policy.version_id == "cards@1"

    policy = {"id": "cards", "event_types": ["card_payment"], "thresholds": {"decline": 0.5}}
    playbook, _ = rl.catalog.candidate(policies=[policy])
    assert playbook.active["card_payment"].policy.version_id == "cards@2"
    same = {"id": "cards", "event_types": ["card_payment"]}  # as saved: not a new version
    playbook, _ = rl.catalog.candidate(policies=[same])
    assert playbook.active["card_payment"].policy.version_id == "cards@1"
    with pytest.raises(InvalidInput) as exc:
        rl.catalog.candidate(policies=[{**policy, "rules": ["ghost"]}])
    assert exc.value.errors[0].field == "policies[0].rules"


def test_recorded_hits_of_unchanged_rules_are_reused(rl: Riskloop) -> None:
    review_large_payments(rl)
    rl.catalog.save_rule({**REVIEW_LARGE, "id": "other", "expression": "false"})
    playbook, changed = rl.catalog.candidate(
        rules=[{**REVIEW_LARGE, "expression": "event.amount >= 10", "action": "decline"}],
        policies=[],
    )
    record = {
        "event_id": "e1",
        "event_type": "card_payment",
        "outcome": "review",
        "score": 0.1,
        "contributions": [],
        "features": {},
        "fallbacks": [],
        "occurred_at": T0.isoformat(),
        # "other" hit when it was decided (say an older list said so): its hit stands.
        "rule_versions": {"big": 1, "other": 1},
        "rules": [{"id": "other", "version": 1, "status": "active", "hit": True}],
    }
    data = {"amount": 50, "currency": "EUR"}
    (r,) = from_decisions([(record, data)], Candidate(playbook, changed))
    assert r.hits == ("big", "other")  # "big" re-evaluated (changed), "other" recorded
    assert (r.baseline, r.candidate) == ("review", "decline")
    record["rule_versions"] = {"big": 1, "other": 7}  # recorded at another version
    (r,) = from_decisions([(record, data)], Candidate(playbook, changed))
    assert r.hits == ("big",)  # "other" is evaluated now, and is false
