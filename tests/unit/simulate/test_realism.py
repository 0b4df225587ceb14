"""Genuine traffic looks like people: fraud is rare, people shop where they live, in the
daytime, at their usual amounts, and do not teleport."""

from __future__ import annotations

from collections import Counter, defaultdict

from riskloop.simulate.places import HOME_CITIES, distance_km
from tests.unit.simulate.conftest import Run, when

_OFFSET = {c.name: c.utc_offset for c in HOME_CITIES}


def test_fraud_is_under_five_percent_of_card_payments(run: Run) -> None:
    payments = [e for e in run.events if e["event_type"] == "card_payment"]
    fraud = [e for e in payments if run.fraud(e)]
    assert 0 < len(fraud) / len(payments) < 0.05


def test_volume_is_a_few_events_per_customer_a_day(run: Run) -> None:
    per_customer_day = len(run.events) / (run.summary.customers * run.summary.days)
    assert 1.5 < per_customer_day < 6


def test_most_card_present_payments_are_in_the_home_country(run: Run) -> None:
    present = [
        e
        for e in run.events
        if e["event_type"] == "card_payment" and e["channel"] == "card_present" and not run.fraud(e)
    ]
    home = sum(e["merchant"]["country"] == e["card"]["country"] for e in present)
    assert home / len(present) > 0.95


def test_people_shop_in_the_day_not_at_four_in_the_morning(run: Run) -> None:
    hours: Counter[int] = Counter()
    for e in run.events:
        if (
            e["event_type"] == "card_payment"
            and e["channel"] == "card_present"
            and not run.fraud(e)
        ):
            offset = _OFFSET.get(e["merchant"]["city"], 0)
            hours[(when(e["occurred_at"]).hour + offset) % 24] += 1
    assert hours[12] + hours[18] > 10 * (hours[3] + hours[4])


def test_each_customer_spends_around_their_own_typical_amount(run: Run) -> None:
    amounts: dict[str, list[int]] = defaultdict(list)
    for e in run.events:
        if e["event_type"] == "card_payment" and not run.fraud(e) and e["currency"] == "EUR":
            amounts[e["customer_id"]].append(e["amount"])
    medians = sorted(sorted(a)[len(a) // 2] for a in amounts.values() if len(a) >= 10)
    assert len(medians) > 20
    assert 500 < medians[len(medians) // 2] < 6000  # 5 to 60 euros
    assert medians[-1] > 2 * medians[0]  # and customers differ


def test_genuine_card_payments_rarely_imply_impossible_travel(run: Run) -> None:
    last: dict[str, dict] = {}
    fast = total = 0
    for e in run.events:
        if e["event_type"] != "card_payment" or "geo" not in e or run.fraud(e):
            continue
        pan = e["card"]["pan"]
        before = last.get(pan)
        last[pan] = e
        if before is None:
            continue
        total += 1
        km = distance_km(
            before["geo"]["lat"], before["geo"]["lon"], e["geo"]["lat"], e["geo"]["lon"]
        )
        hours = (when(e["occurred_at"]) - when(before["occurred_at"])).total_seconds() / 3600
        if km > 100 and km / max(hours, 1 / 60) > 800:
            fast += 1
    assert fast / total < 0.005


def test_customers_log_in_mostly_from_devices_they_know(run: Run) -> None:
    seen: dict[str, set[str]] = defaultdict(set)
    new = total = 0
    for e in run.events:
        if e["event_type"] != "login" or run.fraud(e):
            continue
        devices = seen[e["customer_id"]]
        total += 1
        new += e["device"]["id"] not in devices
        devices.add(e["device"]["id"])
    # New: the first login on each device they own (one to three), and a few new phones.
    assert new / total < 0.25
