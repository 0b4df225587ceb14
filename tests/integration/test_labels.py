"""Labels end to end in the service: idempotent, matched by keys, pending until their event
is known, resolved by precedence, counted by the label-rate features from their arrival."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from riskloop.bootstrap import Riskloop
from riskloop.errors import ConflictError, InvalidEvent
from riskloop.service.features import as_input
from tests.unit.factories import MASTERCARD_PAN, VISA_PAN, card_payment

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _pay(rl: Riskloop, i: int, **kw: object) -> str:
    body = card_payment(
        event_id=f"pay-{i}", occurred_at=(T0 + timedelta(minutes=i)).isoformat(), **kw
    )
    rl.ingestor.ingest(body)
    return str(body["event_id"])


def _label(label_id: str, **kw: object) -> dict[str, object]:
    return {"label_id": label_id, "reported_at": (T0 + timedelta(days=1)).isoformat(), **kw}


def _fraud_rate(rl: Riskloop, i: int) -> object:
    """The merchant fraud rate a new payment at minute ``i`` would see now."""
    stored = rl.ingestor.protect_only(
        card_payment(event_id=f"probe-{i}", occurred_at=(T0 + timedelta(minutes=i)).isoformat())
    )
    return rl.features.engine.process(as_input(stored), record=False).values[  # type: ignore[index]
        "merchant_fraud_rate_7d"
    ]


def test_a_chargeback_labels_its_event_once_and_counts_in_features(any_rl: Riskloop) -> None:
    rl = any_rl
    ids = [_pay(rl, i) for i in range(4)]
    before = _fraud_rate(rl, 10)
    body = _label("cb-1", kind="chargeback", event_id=ids[0], network="visa", reason_code="10.4")
    first = rl.labels.submit(body)
    again = rl.labels.submit(body)  # a retry: a duplicate, not a second label
    assert (first.status, again.status) == ("accepted", "duplicate")
    assert first.fraud is True and not first.pending
    assert _fraud_rate(rl, 10) == pytest.approx(0.25) and before == 0
    assert [e.label_id for e in rl.labels.labels(target_event_id=ids[0])] == ["label:cb-1"]
    with pytest.raises(ConflictError):  # same id, different body
        rl.labels.submit({**body, "reason_code": "10.5"})


def test_precedence_an_analyst_outranks_a_customer_and_a_reversal_withdraws(
    any_rl: Riskloop,
) -> None:
    rl = any_rl
    pid = _pay(rl, 0)
    rl.labels.submit(_label("r-1", kind="customer_report", event_id=pid))
    assert _fraud_rate(rl, 5) == 1.0
    rl.labels.submit(_label("a-1", kind="analyst", event_id=pid, fraud=False, author="ana"))
    assert _fraud_rate(rl, 5) == 0.0
    rl.labels.submit(_label("r-2", kind="customer_report", event_id=pid))  # lower tier
    assert _fraud_rate(rl, 5) == 0.0
    view = rl.labels.for_event(pid)
    assert view["effective"]["label_id"] == "a-1" and len(view["labels"]) == 3
    cb = _label("cb-9", kind="chargeback", event_id=pid, network="mastercard", reason_code="4837")
    rl.labels.submit(cb)  # the same tier, later: the chargeback stands
    assert _fraud_rate(rl, 5) == 1.0
    rl.labels.submit({**cb, "label_id": "cb-9r", "reversal": True})
    assert _fraud_rate(rl, 5) == 0.0
    assert rl.features.labels_as_of(T0 + timedelta(days=2)) == {pid: False}


def test_match_keys_find_the_payment_or_leave_the_label_pending(any_rl: Riskloop) -> None:
    rl = any_rl
    pid = _pay(rl, 0, amount=12_345)
    _pay(rl, 1, amount=500)
    match = {"card": {"pan": VISA_PAN}, "amount": 12_345, "currency": "EUR", "on": "2026-11-02"}
    got = rl.labels.submit(
        _label("f-1", kind="chargeback", match=match, network="visa", reason_code="10.4")
    )
    assert got.event_id == pid and not got.pending
    other = {**match, "card": {"pan": MASTERCARD_PAN}}
    waiting = rl.labels.submit(_label("f-2", kind="customer_report", match=other))
    assert waiting.pending and waiting.event_id is None and "no card payment" in str(waiting.reason)
    report = rl.labels.pending_report()
    assert report["pending"] == 1 and report["labels"][0]["label_id"] == "f-2"
    assert VISA_PAN not in str(report) and MASTERCARD_PAN not in str(report)
    # The payment arrives later (a delayed feed): resolving matches it now.
    late = card_payment(
        event_id="pay-late",
        occurred_at=(T0 + timedelta(hours=3)).isoformat(),
        amount=12_345,
        card={"pan": MASTERCARD_PAN},
    )
    rl.ingestor.ingest(late)
    assert rl.labels.resolve_pending() == {"tried": 1, "matched": 1}
    assert rl.labels.pending_report()["pending"] == 0
    assert rl.labels.for_event("pay-late")["effective"]["label_id"] == "f-2:matched"


def test_a_label_for_an_unknown_event_is_pending_then_counts_when_it_arrives(
    any_rl: Riskloop,
) -> None:
    rl = any_rl
    _pay(rl, 0)
    got = rl.labels.submit(_label("early", kind="customer_report", event_id="pay-7"))
    assert got.pending and got.reason == "event not known yet"
    assert [e.label_id for e in rl.labels.labels(pending=True)] == ["label:early"]
    _pay(rl, 7)  # the event shows up after its label
    assert rl.labels.labels(pending=True) == []
    assert _fraud_rate(rl, 10) == pytest.approx(0.5)


def test_bad_labels_name_the_field_the_client_sent(rl: Riskloop) -> None:
    cases = [
        ({"kind": "chargeback", "event_id": "p"}, "label_id"),
        (_label("x", kind="analyst", event_id="p"), "fraud"),
        (_label("x", kind="chargeback", event_id="p", network="visa", reason_code="104"), ""),
        (_label("x", kind="refund", event_id="p"), "kind"),
        (_label("x", kind="confirmed_good"), "event_id"),
        (_label("x", kind="customer_report", event_id="p", reported_at="yesterday"), "reported_at"),
        (_label("x", kind="customer_report", event_id="p", target_event_id="q"), "target_event_id"),
    ]
    for body, field in cases:
        with pytest.raises(InvalidEvent) as err:
            rl.labels.submit(body)
        assert any(e.field.startswith(field) for e in err.value.errors), (body, err.value)
    assert rl.events.count() == 0


def test_a_batch_is_stored_whole_or_not_at_all(rl: Riskloop) -> None:
    pid = _pay(rl, 0)
    good = _label("b-1", kind="customer_report", event_id=pid)
    with pytest.raises(InvalidEvent) as err:
        rl.labels.submit_batch([good, _label("b-2", kind="analyst", event_id=pid)])
    assert err.value.errors[0].field.startswith("labels[1]")
    assert rl.labels.labels() == []
    assert [r.status for r in rl.labels.submit_batch([good, good])] == ["accepted", "duplicate"]


def test_a_label_sent_as_a_plain_event_is_indexed_by_the_full_sync(rl: Riskloop) -> None:
    pid = _pay(rl, 0)
    rl.ingestor.ingest(
        {
            "event_id": "label:raw-1",
            "event_type": "label",
            "occurred_at": (T0 + timedelta(days=2)).isoformat(),
            "kind": "confirmed_good",
            "target_event_id": pid,
        }
    )
    assert rl.labels.labels() == []  # not through the label service: not indexed yet
    assert rl.labels.sync() == 1 and rl.labels.sync() == 0
    assert rl.labels.for_event(pid)["effective"]["kind"] == "confirmed_good"


def test_a_retry_is_a_duplicate_even_when_the_world_moved_on(any_rl: Riskloop) -> None:
    """No reported_at (so: now) and a match that failed the first time: the retry must still
    be the same label, not a 409 and not a second label."""
    rl = any_rl
    match = {"card": {"pan": VISA_PAN}, "amount": 777, "currency": "EUR", "on": "2026-11-02"}
    body = {"label_id": "r-1", "kind": "customer_report", "match": match}
    first = rl.labels.submit(body)
    assert first.pending
    _pay(rl, 0, amount=777)  # the payment arrives between the attempts
    again = rl.labels.submit(body)
    assert (again.status, again.pending) == ("duplicate", True)
    plain = {"label_id": "r-2", "kind": "confirmed_good", "event_id": "pay-0"}
    assert rl.labels.submit(plain).status == "accepted"
    assert rl.labels.submit(plain).status == "duplicate"
    assert len(rl.labels.labels()) == 2
