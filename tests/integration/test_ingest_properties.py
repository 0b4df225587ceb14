"""Property: whatever a client sends, ingestion stores a whole batch or nothing, and only
ever raises InvalidEvent or ConflictError."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskloop.bootstrap import Riskloop
from riskloop.errors import InvalidEvent
from tests.support.factories import card_payment, kyc_record, transfer

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
fields = st.sampled_from(
    [
        "event_id",
        "event_type",
        "occurred_at",
        "amount",
        "currency",
        "card",
        "merchant",
        "payee",
        "person",
        "channel",
        "ip",
        "geo",
        "schema_version",
        "metadata",
        "extra_field",
    ]
)


@st.composite
def payloads(draw: st.DrawFn) -> tuple[dict[str, Any], bool]:
    """An event, possibly broken in one place; the flag says whether it was left intact."""
    event = draw(st.sampled_from([card_payment, transfer, kyc_record]))()
    if draw(st.booleans()):
        return event, True
    field = draw(fields)
    if draw(st.booleans()):
        event.pop(field, None)
    else:
        event[field] = draw(json_values)
    return event, False


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=st.lists(payloads(), min_size=1, max_size=6))
def test_a_batch_is_stored_whole_or_not_at_all(
    rl: Riskloop, batch: list[tuple[dict[str, Any], bool]]
) -> None:
    before = rl.events.count()
    events = [p for p, _ in batch]
    try:
        outcomes = rl.ingestor.ingest_batch(events)
    except InvalidEvent as exc:
        assert all(e.field.startswith("events[") for e in exc.errors)
        assert not all(intact for _, intact in batch)
        assert rl.events.count() == before
    else:
        assert rl.events.count() == before + len({o.event_id for o in outcomes})


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(junk=json_values)
def test_any_json_value_is_an_invalid_event_never_a_crash(rl: Riskloop, junk: object) -> None:
    before = rl.events.count()
    try:
        rl.ingestor.ingest(junk)
    except InvalidEvent as exc:
        assert exc.errors
    assert rl.events.count() == before
