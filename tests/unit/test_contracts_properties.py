"""Property: whatever a client sends, validate_event gives a contract model or InvalidEvent,
never any other exception (which would surface as a 500 or kill a file import)."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from riskloop.errors import FieldError, InvalidEvent
from riskloop.intake import CONTRACTS, EventBase, validate_event
from tests.unit.factories import FACTORIES

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=24)
    | st.sampled_from(["", "EUR", "DE", "4111111111111111", "2026-11-01T12:00:00", "1e309"])
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=16,
)
keys = st.sampled_from(
    [
        "event_id",
        "event_type",
        "schema_version",
        "occurred_at",
        "metadata",
        "amount",
        "currency",
        "card",
        "merchant",
        "payee",
        "person",
        "business",
        "device",
        "ip",
        "geo",
        "change",
        "subject",
        "network",
        "reason_code",
        "success",
        "balance_after",
    ]
) | st.text(max_size=12)
events = st.sampled_from(sorted(FACTORIES)).map(lambda t: FACTORIES[t]())


def _field_names(schema: Any) -> set[str]:
    """Every property name declared anywhere in a JSON Schema."""
    names: set[str] = set()
    if isinstance(schema, dict):
        names |= set(schema.get("properties", {}))
        for value in schema.values():
            names |= _field_names(value)
    elif isinstance(schema, list):
        for value in schema:
            names |= _field_names(value)
    return names


# An extra key that happens to be a real (optional) field could make a valid event.
DECLARED_FIELDS = frozenset().union(
    *(_field_names(spec.model.model_json_schema()) for spec in CONTRACTS.values())
)


def _check(payload: object) -> EventBase | InvalidEvent:
    """Validate, failing the property on any exception other than InvalidEvent."""
    try:
        model = validate_event(payload)
    except InvalidEvent as exc:
        assert exc.errors
        assert all(isinstance(e, FieldError) and isinstance(e.field, str) for e in exc.errors)
        assert all(e.reason for e in exc.errors)
        return exc
    assert isinstance(model, EventBase)
    assert isinstance(payload, dict)
    assert model.event_id in payload["event_id"]  # at most stripped of whitespace
    return model


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a dict entry inside ``value`` (lists are walked too)."""
    found: list[tuple[Any, ...]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            found.append((*prefix, key))
            found.extend(_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found.extend(_paths(item, (*prefix, i)))
    return found


def _parent(root: Any, path: tuple[Any, ...]) -> Any:
    node = root
    for part in path[:-1]:
        node = node[part]
    return node


@settings(max_examples=300, deadline=None)
@given(junk=json_values)
def test_any_json_value_is_an_invalid_event_never_a_crash(junk: object) -> None:
    result = _check(junk)
    assert isinstance(result, InvalidEvent)  # nothing random is a whole event


@settings(max_examples=300, deadline=None)
@given(junk=st.dictionaries(keys, json_values, max_size=10))
def test_any_random_object_is_an_invalid_event_never_a_crash(junk: dict[str, Any]) -> None:
    _check(junk)


@settings(max_examples=300, deadline=None)
@given(
    event_type=st.sampled_from(sorted(FACTORIES)),
    junk=st.dictionaries(keys, json_values, max_size=8),
)
def test_any_object_with_a_known_event_type_is_an_invalid_event_never_a_crash(
    event_type: str, junk: dict[str, Any]
) -> None:
    _check({**junk, "event_type": event_type})


@settings(max_examples=300, deadline=None)
@given(event=events, data=st.data())
def test_a_valid_event_with_one_field_replaced_by_junk_never_crashes(
    event: dict[str, Any], data: st.DataObject
) -> None:
    path = data.draw(st.sampled_from(_paths(event)))
    _parent(event, path)[path[-1]] = data.draw(json_values)
    _check(event)


@settings(max_examples=300, deadline=None)
@given(event=events, data=st.data())
def test_a_valid_event_with_fields_deleted_never_crashes(
    event: dict[str, Any], data: st.DataObject
) -> None:
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        paths = _paths(event)
        if not paths:
            break
        path = data.draw(st.sampled_from(paths))
        del _parent(event, path)[path[-1]]
    _check(event)


@settings(max_examples=300, deadline=None)
@given(event=events, data=st.data())
def test_a_valid_event_with_an_extra_key_is_rejected_as_unknown(
    event: dict[str, Any], data: st.DataObject
) -> None:
    # Only objects that are models take extra keys: metadata is a free-form mapping.
    targets = [()] + [
        p
        for p in _paths(event)
        if isinstance(_parent(event, (*p, None)), dict) and "metadata" not in p
    ]
    where = data.draw(st.sampled_from(targets))
    node = _parent(event, (*where, None))
    key = data.draw(
        st.text(min_size=1, max_size=12).filter(
            lambda k: k not in node and k not in DECLARED_FIELDS
        )
    )
    node[key] = data.draw(json_values)
    result = _check(event)
    assert isinstance(result, InvalidEvent)


@settings(max_examples=200, deadline=None)
@given(event=events)
def test_every_factory_event_is_valid_and_validation_does_not_mutate_it(
    event: dict[str, Any],
) -> None:
    before = copy.deepcopy(event)
    assert isinstance(_check(event), EventBase)
    assert event == before
