"""Labels arrive as they do in real life: chargebacks 3 to 45 days after the payment with a
fraud reason code, customer reports of a takeover within days, and nothing from after the
end of the simulation."""

from __future__ import annotations

from datetime import timedelta

from riskloop.domain.labels import is_fraud_reason
from tests.unit.simulate.conftest import Run, when


def test_fraud_chargebacks_arrive_3_to_45_days_after_the_payment(run: Run) -> None:
    by_id = run.by_id
    chargebacks = [lbl for lbl in run.labels if lbl["kind"] == "chargeback"]
    assert chargebacks
    for label in chargebacks:
        event = by_id[label["event_id"]]
        delay = when(label["reported_at"]) - when(event["occurred_at"])
        assert timedelta(days=3) <= delay <= timedelta(days=45)
        assert label["network"] == event["card"]["network"]
        assert label["amount"] == event["amount"] and label["currency"] == event["currency"]
        if run.fraud(event):
            assert is_fraud_reason(label["network"], label["reason_code"])
            assert event["auth_result"] == "approved"


def test_fraud_reason_codes_on_genuine_payments_are_listed_as_friendly_fraud(run: Run) -> None:
    for label in run.labels:
        if label["kind"] != "chargeback" or not is_fraud_reason(
            label["network"], label["reason_code"]
        ):
            continue
        row = run.truth[label["event_id"]]
        assert row["fraud"] or row["pattern"] == "friendly_fraud"


def test_nothing_arrives_after_the_end_and_the_rest_is_counted_as_not_yet_known(run: Run) -> None:
    assert all(when(lbl["reported_at"]) <= run.summary.end for lbl in run.labels)
    assert run.summary.labels_not_yet_known > 0
    assert run.manifest["labels"]["not_yet_known"] == run.summary.labels_not_yet_known


def test_account_takeover_transfers_are_reported_by_the_customer_within_five_days(run: Run) -> None:
    by_id = run.by_id
    reports = [lbl for lbl in run.labels if lbl["kind"] == "customer_report"]
    transfers = {
        e["event_id"]
        for events in run.incidents("account_takeover").values()
        for e in events
        if run.role(e) == "transfer"
    }
    for label in reports:
        event = by_id[label["event_id"]]
        delay = when(label["reported_at"]) - when(event["occurred_at"])
        assert timedelta(days=1) <= delay <= timedelta(days=5)
        assert run.fraud(event)
    reported = {lbl["event_id"] for lbl in reports}
    # Every takeover transfer made five days before the end has been reported by then.
    due = {
        t for t in transfers if when(by_id[t]["occurred_at"]) < run.summary.end - timedelta(days=5)
    }
    assert due <= reported


def test_genuine_payments_bring_confirmations_and_non_fraud_disputes(run: Run) -> None:
    kinds = {lbl["kind"] for lbl in run.labels if not run.fraud(run.by_id[lbl["event_id"]])}
    assert "confirmed_good" in kinds
    for label in run.labels:
        if label["kind"] == "confirmed_good":
            assert not run.fraud(run.by_id[label["event_id"]])
