"""The files a simulation writes: every event and label keeps its contract, ids are unique,
lines are in time order, and the manifest counts what the files hold."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from riskloop.domain.cards import card_numbers
from riskloop.errors import InvalidInput
from riskloop.intake.labels import to_log_payload
from riskloop.intake.validation import validate_event
from riskloop.simulate import PATTERNS, simulate
from tests.unit.simulate.conftest import Run, when


def test_every_event_validates_against_its_contract(run: Run) -> None:
    for event in run.events:
        validate_event(event)


def test_every_label_validates_as_the_label_import_sends_it(run: Run) -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    for label in run.labels:
        stored = validate_event(to_log_payload(label, now))
        assert stored.event_id.startswith("label:")


def test_every_event_type_the_brief_names_is_present(run: Run) -> None:
    types = Counter(e["event_type"] for e in run.events)
    for event_type in (
        "card_payment",
        "transfer",
        "login",
        "account_change",
        "kyc_record",
        "credit_application",
    ):
        assert types[event_type] > 0, event_type


def test_ids_are_unique_and_never_look_like_card_numbers(run: Run) -> None:
    ids = [e["event_id"] for e in run.events] + [lbl["label_id"] for lbl in run.labels]
    assert len(ids) == len(set(ids))
    assert not [i for i in ids if card_numbers(i)]


def test_events_and_labels_are_in_time_order_within_the_period(run: Run) -> None:
    times = [when(e["occurred_at"]) for e in run.events]
    assert times == sorted(times)
    assert run.summary.start <= times[0] and times[-1] < run.summary.end
    reported = [when(lbl["reported_at"]) for lbl in run.labels]
    assert reported == sorted(reported)
    assert all(r <= run.summary.end for r in reported)


def test_labels_name_events_in_the_file(run: Run) -> None:
    by_id = run.by_id
    for label in run.labels:
        assert label["event_id"] in by_id
        assert when(label["reported_at"]) > when(by_id[label["event_id"]]["occurred_at"])


def test_manifest_counts_what_the_files_hold(run: Run) -> None:
    m = run.manifest
    assert m["seed"] == 11
    assert m["parameters"] == {
        "customers": 200,
        "days": 21,
        "end": "2026-03-01T00:00:00Z",
        "fraud_rate": 0.02,
    }
    assert m["events"]["total"] == len(run.events)
    assert m["events"]["by_type"] == dict(Counter(e["event_type"] for e in run.events))
    assert m["labels"]["total"] == len(run.labels)
    assert m["labels"]["by_kind"] == dict(Counter(lbl["kind"] for lbl in run.labels))
    fraud = Counter(t["pattern"] for t in run.truth.values() if t["fraud"])
    assert m["fraud"]["events_by_pattern"] == {p: fraud[p] for p in PATTERNS}
    assert m["time_range"]["first_event"] == run.events[0]["occurred_at"]
    assert m["time_range"]["start"] == "2026-02-08T00:00:00Z"


def test_truth_lists_every_fraud_event_and_never_leaks_into_events(run: Run) -> None:
    assert {t["pattern"] for t in run.truth.values() if t["fraud"]} == set(PATTERNS)
    leaked = {"pattern", "fraud", "role", "incident", "truth"}
    assert not [e for e in run.events if leaked & set(e) or leaked & set(e.get("metadata", {}))]


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"customers": 0}, "customers"),
        ({"days": 0}, "days"),
        ({"seed": -1}, "seed"),
        ({"fraud_rate": 0.9}, "fraud_rate"),
    ],
)
def test_refuses_bad_parameters_naming_them(tmp_path, options, field) -> None:
    with pytest.raises(InvalidInput) as caught:
        simulate(tmp_path, **options)
    assert caught.value.field == field
    assert not list(tmp_path.iterdir())
