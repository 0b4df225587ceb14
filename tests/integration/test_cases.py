"""Review cases from REVIEW decisions to labels, on SQLite and PostgreSQL: grouping by
entity, SLA, claims that cannot collide, four-eyes, write-back that survives a crash."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from riskloop.bootstrap import Riskloop
from riskloop.cases.model import CaseStatus
from riskloop.errors import ConflictError, InvalidInput
from tests.support.playbooks import review_large_payments
from tests.unit.factories import MASTERCARD_PAN, VISA_PAN, card_payment

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _decide(rl: Riskloop, i: int, **kw: Any) -> dict[str, Any]:
    body = card_payment(
        event_id=f"p-{i}", occurred_at=(T0 + timedelta(minutes=i)).isoformat(), **kw
    )
    return rl.decisions.decide(body).decision.as_dict()


@pytest.fixture
def rl(any_rl: Riskloop) -> Riskloop:
    review_large_payments(any_rl)
    return any_rl


def test_review_decisions_open_one_case_per_entity_and_resolution_writes_labels(
    rl: Riskloop,
) -> None:
    outcomes = [
        _decide(rl, 0, amount=20_000, customer_id="c-1")["outcome"],
        _decide(rl, 1, amount=30_000, customer_id="c-1")["outcome"],
        _decide(rl, 2, amount=500, customer_id="c-1")["outcome"],  # approved: no case
        _decide(rl, 3, amount=150_000, customer_id="c-2", card={"pan": MASTERCARD_PAN})["outcome"],
    ]
    assert outcomes == ["review", "review", "approve", "review"]
    report = rl.cases.sync()
    assert (report.opened, report.joined) == (2, 1)
    assert rl.cases.sync().opened == 0  # idempotent: the overlap is re-read, nothing doubles
    c1 = rl.cases.search(entity_key="c-1")[0]
    assert (c1.entity_type, c1.queue, c1.body["decisions"]) == ("customer", "payments", 2)
    assert c1.body["amounts"] == {"EUR": 50_000} and c1.body["reasons"] == {"LARGE_AMOUNT": 2}
    c2 = rl.cases.search(entity_key="c-2")[0]
    assert c2.priority == 1 and c2.due_at - c2.opened_at == timedelta(hours=4)
    assert rl.cases.search(status=["open"])[0].case_id == c2.case_id  # urgent first

    rl.cases.claim(c1.case_id, "ana")
    rl.cases.note(c1.case_id, "ana", f"customer says card {VISA_PAN} was stolen")
    done = rl.cases.resolve(
        c1.case_id, actor="ana", resolution="fraud", typology="stolen card", note="confirmed"
    )
    assert done.status is CaseStatus.RESOLVED and not rl.cases.get(c1.case_id).labels_pending
    for event_id in ("p-0", "p-1"):
        standing = rl.labels.for_event(event_id)["effective"]
        assert (standing["kind"], standing["fraud"], standing["author"]) == ("analyst", True, "ana")
    assert rl.features.labels_as_of(datetime.now(UTC)) == {"p-0": True, "p-1": True}
    view = rl.cases.view(c1.case_id)
    assert [i["label"]["fraud"] for i in view["items"]] == [True, True]
    assert view["items"][0]["decision"]["reasons"] == ["LARGE_AMOUNT"]
    notes = [e["note"] for e in view["timeline"] if "note" in e]
    assert notes[0] == "customer says card 411111******1111 was stolen"  # no PAN kept
    assert [e["action"] for e in view["timeline"]] == ["open", "join", "claim", "note", "resolve"]
    audit = [e for e in rl.catalog.store.audit().iterate() if e.kind == "case"]
    assert [(e.action, e.actor) for e in audit] == [("case.resolve", "ana")]
    # A new review decision for the same customer opens a new case, linked by history.
    _decide(rl, 9, amount=20_000, customer_id="c-1")
    rl.cases.sync()
    fresh = rl.cases.search(entity_key="c-1", status=["open"])[0]
    assert rl.cases.view(fresh.case_id)["entity_history"][0]["case_id"] == c1.case_id


def test_two_analysts_cannot_claim_or_resolve_the_same_case(rl: Riskloop) -> None:
    _decide(rl, 0, amount=20_000)
    rl.cases.sync()
    case = rl.cases.search()[0]
    results: list[str] = []
    barrier = threading.Barrier(2)

    def take(who: str) -> None:
        barrier.wait()
        try:
            rl.cases.claim(case.case_id, who)
            results.append(who)
        except ConflictError:
            results.append("409")

    threads = [threading.Thread(target=take, args=(w,)) for w in ("ana", "bob")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results).count("409") == 1
    winner = next(r for r in results if r != "409")
    stale = rl.cases.get(case.case_id).version
    rl.cases.resolve(case.case_id, actor=winner, resolution="not_fraud", expected_version=stale)
    with pytest.raises(ConflictError):  # a second resolution with the same view of the case
        rl.cases.resolve(case.case_id, actor=winner, resolution="fraud", expected_version=stale)
    labels = rl.labels.labels(target_event_id="p-0")
    assert [(e.kind, e.fraud) for e in labels] == [("analyst", False)]


def test_next_case_hands_different_cases_to_concurrent_analysts(rl: Riskloop) -> None:
    for i in range(4):
        _decide(rl, i, amount=20_000, customer_id=f"c-{i}")
    rl.cases.sync()
    got: list[str | None] = []
    barrier = threading.Barrier(4)

    def pull(who: str) -> None:
        barrier.wait()
        case = rl.cases.next_case(who)
        got.append(case.case_id if case else None)

    threads = [threading.Thread(target=pull, args=(f"a{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert None not in got and len(set(got)) == 4
    assert rl.cases.next_case("late") is None


def test_four_eyes_escalation_round_robin_and_bulk(rl: Riskloop) -> None:
    for i in range(3):
        _decide(rl, i, amount=20_000, customer_id=f"c-{i}")
    rl.cases.sync()
    dealt = rl.cases.assign_round_robin(["ana", "bob"], actor="lead", queue="payments")
    assert [d["assignee"] for d in dealt] == ["ana", "bob", "ana"]
    first = rl.cases.get(dealt[0]["case_id"])
    first_event = rl.cases.view(first.case_id)["items"][0]["event_id"]
    with pytest.raises(ConflictError):  # assigned to ana: bob cannot claim it
        rl.cases.claim(first.case_id, "bob")
    rl.cases.claim(first.case_id, "ana")
    proposed = rl.cases.resolve(
        first.case_id, actor="ana", resolution="fraud", action="close_account"
    )
    assert proposed.status is CaseStatus.PENDING_APPROVAL
    assert rl.labels.labels(target_event_id=first_event) == []  # nothing before approval
    with pytest.raises(ConflictError, match="four-eyes"):
        rl.cases.approve(first.case_id, "ana")
    approved = rl.cases.approve(first.case_id, "carol")
    assert approved.status is CaseStatus.RESOLVED and approved.body["approved_by"] == "carol"
    assert rl.labels.for_event(first_event)["effective"]["fraud"] is True
    tasks = rl.tasks.list(kind="review")
    assert [t.key for t in tasks] == [f"action:{first.case_id}"]

    second = rl.cases.get(dealt[1]["case_id"])
    rl.cases.claim(second.case_id, "bob")
    up = rl.cases.resolve(second.case_id, actor="bob", resolution="escalated", note="need KYC")
    assert (up.status, up.assignee, up.priority) == (CaseStatus.ESCALATED, None, 1)
    second_event = rl.cases.view(second.case_id)["items"][0]["event_id"]
    assert rl.labels.labels(target_event_id=second_event) == []
    results = rl.cases.bulk(
        "assign", [second.case_id, dealt[2]["case_id"], "case_nope"], actor="lead", analyst="sam"
    )
    assert [r["ok"] for r in results] == [True, True, False]
    with pytest.raises(InvalidInput):
        rl.cases.bulk("delete", [second.case_id], actor="lead")


def test_labels_of_a_resolution_interrupted_by_a_crash_are_written_by_the_next_sync(
    rl: Riskloop, monkeypatch: pytest.MonkeyPatch
) -> None:
    _decide(rl, 0, amount=20_000)
    rl.cases.sync()
    case = rl.cases.search()[0]
    rl.cases.claim(case.case_id, "ana")

    def crash(*_a: object, **_k: object) -> None:
        from riskloop.errors import StorageError

        raise StorageError("disk gone")

    monkeypatch.setattr(rl.labels, "submit_batch", crash)
    rl.cases.resolve(case.case_id, actor="ana", resolution="fraud")
    assert rl.cases.get(case.case_id).labels_pending
    monkeypatch.undo()
    assert rl.cases.sync().labels_written == 1
    assert rl.cases.sync().labels_written == 0
    assert [e.fraud for e in rl.labels.labels(target_event_id="p-0")] == [True]


def test_an_sla_breach_becomes_one_task(rl: Riskloop) -> None:
    _decide(rl, 0, amount=20_000)
    rl.cases.sync()
    case = rl.cases.search()[0]
    later = datetime.now(UTC) + timedelta(days=2)
    rl.cases.clock = lambda: later
    assert rl.cases.sync().sla_breaches == 1
    assert rl.cases.sync().sla_breaches == 0  # once, not every second
    assert rl.cases.view(case.case_id)["sla_breached"] is True
    tasks = rl.tasks.list(kind="sla_breach")
    assert [t.key for t in tasks] == [f"sla:{case.case_id}"]


def test_sar_draft_from_a_case(rl: Riskloop) -> None:
    for i in range(3):
        _decide(rl, i, amount=20_000 + i, customer_id="c-9")
    rl.cases.sync()
    case = rl.cases.search()[0]
    rl.cases.claim(case.case_id, "ana")
    rl.cases.note(case.case_id, "ana", "three large CNP payments in three minutes")
    rl.cases.resolve(case.case_id, actor="ana", resolution="fraud", typology="card fraud")
    draft = rl.cases.sar_draft(case.case_id, actor="cora")
    assert (draft["status"], draft["requires_signoff"], draft["typology"]) == (
        "draft",
        True,
        "card fraud",
    )
    assert draft["activity"]["totals"] == {"EUR": 60_003}
    assert draft["activity"]["confirmed_fraud_totals"] == {"EUR": 60_003}
    assert [x["label"] for x in draft["timeline"]] == ["fraud"] * 3
    assert {s["type"] for s in draft["subjects"]} == {"customer", "card"}
    assert "600.03 EUR" in draft["narrative"] and "ana confirmed fraud" in draft["narrative"]
    md = rl.cases.sar_markdown(case.case_id, actor="cora")
    assert md.startswith("# DRAFT suspicious activity report")
    exports = [e for e in rl.catalog.store.audit().iterate() if e.action == "case.sar.export"]
    assert [(e.actor, e.key) for e in exports] == [("cora", case.case_id)] * 2
    assert "three large CNP payments" in md and VISA_PAN not in md and "411111******1111" in md


def test_bad_case_input_names_the_field(rl: Riskloop) -> None:
    _decide(rl, 0, amount=20_000)
    rl.cases.sync()
    case = rl.cases.search()[0]
    rl.cases.claim(case.case_id, "ana")
    for kwargs, field in (
        ({"resolution": "maybe"}, "resolution"),
        ({"resolution": "fraud", "action": "nuke"}, "action"),
        ({"resolution": "fraud", "note": "x" * 6000}, "note"),
        ({"resolution": "escalated", "action": "block_card"}, "action"),
    ):
        with pytest.raises(InvalidInput) as err:
            rl.cases.resolve(case.case_id, actor="ana", **kwargs)
        assert err.value.errors[0].field == field
    with pytest.raises(InvalidInput):
        rl.cases.claim(case.case_id, "  ")
    assert rl.cases.get(case.case_id).status is CaseStatus.IN_REVIEW


def test_a_case_opened_by_hand_keeps_its_reason_sealed(rl: Riskloop) -> None:
    case = rl.cases.open_case(
        entity_type="account",
        entity_key="acc-7",
        queue="transfers",
        actor="ops",
        priority="high",
        reason="alert: mule pattern, holder Ada Lovelace",
    )
    again = rl.cases.open_case(
        entity_type="account", entity_key="acc-7", queue="transfers", actor="ops"
    )
    assert again.case_id == case.case_id and case.priority == 1
    timeline = rl.cases.view(case.case_id)["timeline"]
    assert timeline[1]["note"] == "alert: mule pattern, holder Ada Lovelace"
    with rl.engine.connect() as conn:
        raw = str(list(conn.exec_driver_sql("SELECT detail, note_ciphertext FROM case_log")))
    assert "Lovelace" not in raw
    with pytest.raises(InvalidInput) as err:
        rl.cases.open_case(entity_type="planet", entity_key="", queue="q", actor="ops")
    assert {e.field for e in err.value.errors} == {"entity_type", "entity_key"}
