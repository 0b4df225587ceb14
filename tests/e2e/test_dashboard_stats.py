"""The overview's figures and an entity's decisions, read straight from the records store,
on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from riskloop.bootstrap import Riskloop
from riskloop.entrypoints.web import stats
from riskloop.ledger.records import Decision, new_decision_id
from riskloop.policy.model import Outcome
from tests.support.factories import PANS, card_payment


def _record(rl: Riskloop, at: datetime, outcome: Outcome, latency_us: int) -> Decision:
    ms = int(at.timestamp() * 1000)
    d = Decision(
        decision_id=new_decision_id(ms),
        event_id=f"evt-stats-{ms}-{outcome.value}-{latency_us}",
        event_type="card_payment",
        outcome=outcome,
        reasons=(),
        decided_by="default",
        decided_at=at,
        occurred_at=at,
        policy=None,
        latency_us={"decide": latency_us},
    )
    return rl.ledger.record(d)


def test_overview_counts_per_minute_rates_latency_and_chargebacks(any_rl: Riskloop) -> None:
    # Ten minutes ago: the real decision below (decided now) falls after the overview's time.
    now = (datetime.now(UTC) - timedelta(minutes=10)).replace(second=30, microsecond=0)
    for i in range(100):  # the last minute: 100 decisions, latency 1..100 ms
        _record(any_rl, now - timedelta(seconds=i % 25), Outcome.APPROVE, (i + 1) * 1000)
    _record(any_rl, now - timedelta(minutes=5), Outcome.DECLINE, 500)
    _record(any_rl, now - timedelta(minutes=5, seconds=10), Outcome.REVIEW, 500)
    _record(any_rl, now - timedelta(hours=3), Outcome.CHALLENGE, 500)  # today, not this hour
    _record(any_rl, now - timedelta(days=2), Outcome.DECLINE, 500)  # not today
    first = any_rl.decisions.decide(card_payment()).decision
    chargeback = {
        "label_id": "cb-1",
        "kind": "chargeback",
        "event_id": first.event_id,
        "network": "visa",
        "reason_code": "10.4",
        "reported_at": (now - timedelta(days=1)).isoformat(),
    }
    r = any_rl.labels.submit(chargeback)
    assert r.status == "accepted"
    found = stats.overview(any_rl.engine, now + timedelta(seconds=20))

    assert len(found.minutes) == 60 and found.minutes[-1] == now.strftime("%H:%M")
    assert found.per_minute["approve"][-1] == 100
    assert found.per_minute["decline"][-6] == 1 and found.per_minute["review"][-6] == 1
    assert sum(found.per_minute["challenge"]) == 0  # three hours ago: off the chart
    assert found.day_counts == {"approve": 100, "decline": 1, "review": 1, "challenge": 1}
    assert found.rate("approve") == 100 / 103
    assert found.latency_p95_us == 95_000 and found.latency_p99_us == 99_000
    assert found.latency_sample == 102  # the hour's records
    assert (found.chargebacks_30d, found.card_payments_30d) == (1, 104)
    assert found.open_tasks == {}


def test_an_entitys_decisions_by_field_and_by_card_token(any_rl: Riskloop) -> None:
    now = datetime.now(UTC)
    mine = [
        any_rl.decisions.decide(card_payment(customer_id="cus-a", card={"pan": PANS[2]}))
        for _ in range(3)
    ]
    any_rl.decisions.decide(card_payment(customer_id="cus-b"))
    by_customer = stats.decisions_of(any_rl.engine, "customer", "cus-a", now=now + timedelta(1))
    assert {d.decision_id for d in by_customer} == {m.decision.decision_id for m in mine}
    token = any_rl.events.get(mine[0].decision.event_id).data["card"]["token"]  # type: ignore[union-attr]
    by_card = stats.decisions_of(any_rl.engine, "card", token, now=now, limit=2)
    assert [d.decision_id for d in by_card] == [m.decision.decision_id for m in mine[::-1]][:2]
    assert stats.decisions_of(any_rl.engine, "device", "none", now=now) == []
    none_then = stats.decisions_of(
        any_rl.engine, "customer", "cus-a", now=now, until=now - timedelta(days=1)
    )
    assert none_then == []
    assert stats.case_of(any_rl.engine, mine[0].decision.event_id) is None
