"""Reading and validating feature sets written in YAML (see ``default.yaml``)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from riskloop.errors import InvalidDefinition
from riskloop.features.definitions import (
    _NAME,
    _PATH,
    AGGS,
    ENTITY_KEYS,
    NEEDS_FIELD,
    OPS,
    Condition,
    Feature,
    FeatureSet,
    parse_duration,
)
from riskloop.intake import EVENT_TYPES

# Columns every backfilled row has: a feature may not take their names.
RESERVED = frozenset({"event_id", "event_type", "occurred_at", "seq", "late", "label"})
_KINDS = ("aggregate", "geo_velocity", "first_seen", "label_rate", "derived")
_DEFAULT_WINDOW = {"geo_velocity": "7d", "first_seen": "90d"}
_KEYS = {
    "name",
    "kind",
    "entity",
    "events",
    "for",
    "agg",
    "field",
    "window",
    "where",
    "unit",
    "op",
    "inputs",
    "description",
}


def _conditions(raw: Any, where: str) -> tuple[Condition, ...]:
    """``{auth_result: declined, amount: {lt: 500}}`` -> conditions."""
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise InvalidDefinition(where, "where must be a mapping of field to value or {op: value}")
    out = []
    for path, spec in raw.items():
        if not isinstance(path, str) or not _PATH.match(path):
            raise InvalidDefinition(where, f"{path!r} is not a field path")
        if isinstance(spec, dict):
            for op, value in spec.items():
                if op not in OPS:
                    raise InvalidDefinition(
                        f"{where}.{path}", f"unknown operator {op!r}; one of {', '.join(OPS)}"
                    )
                if op in ("in", "not_in") and not isinstance(value, list):
                    raise InvalidDefinition(f"{where}.{path}", f"{op} needs a list")
                out.append(Condition(path, op, tuple(value) if isinstance(value, list) else value))
        else:
            out.append(Condition(path, "eq", spec))
    return tuple(out)


def _event_types(raw: Any, where: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not items:
        raise InvalidDefinition(where, "expected an event type or a list of them")
    for t in items:
        if t not in EVENT_TYPES:
            raise InvalidDefinition(
                where, f"unknown event type {t!r}; one of {', '.join(EVENT_TYPES)}"
            )
    return tuple(items)


def _feature(raw: Any, index: int, known: dict[str, Feature]) -> Feature:
    if not isinstance(raw, dict):
        raise InvalidDefinition(f"features[{index}]", "expected a mapping")
    name = raw.get("name")
    where = f"features[{index}]" if not isinstance(name, str) else f"feature {name}"
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidDefinition(where, "name must be lower_snake_case, at most 63 characters")
    if name in known:
        raise InvalidDefinition(where, "defined twice")
    if name in RESERVED:
        raise InvalidDefinition(where, f"{name!r} is reserved for the backfill's own columns")
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise InvalidDefinition(where, f"unknown key {unknown[0]!r}")
    kind = raw.get("kind", "aggregate")
    if kind not in _KINDS:
        raise InvalidDefinition(f"{where}.kind", f"one of {', '.join(_KINDS)}")
    if kind == "derived":
        return _derived(raw, name, where, known)
    entity = raw.get("entity")
    if entity not in ENTITY_KEYS:
        raise InvalidDefinition(f"{where}.entity", f"one of {', '.join(ENTITY_KEYS)}")
    events = _event_types(raw.get("events"), f"{where}.events")
    if not events:
        raise InvalidDefinition(f"{where}.events", "required: the event types it aggregates")
    window = raw.get("window", _DEFAULT_WINDOW.get(kind))
    if window is None:
        raise InvalidDefinition(f"{where}.window", "required (e.g. 10m, 1h, 24h, 7d, 30d)")
    agg, fld = raw.get("agg"), raw.get("field")
    if kind == "aggregate":
        if agg not in AGGS:
            raise InvalidDefinition(f"{where}.agg", f"one of {', '.join(AGGS)}")
        if agg in NEEDS_FIELD and not fld:
            raise InvalidDefinition(f"{where}.field", f"required for {agg}")
    if kind == "first_seen" and not fld:
        raise InvalidDefinition(f"{where}.field", "required: the value whose first sighting counts")
    if fld is not None and (not isinstance(fld, str) or not _PATH.match(fld)):
        raise InvalidDefinition(f"{where}.field", f"{fld!r} is not a field path")
    unit = raw.get("unit", "kmh")
    if unit not in ("kmh", "km"):
        raise InvalidDefinition(f"{where}.unit", "kmh or km")
    return Feature(
        name=name,
        kind=kind,
        entity=entity,
        events=events,
        for_events=_event_types(raw.get("for"), f"{where}.for"),
        agg=agg if kind == "aggregate" else None,
        field=fld,
        window_s=parse_duration(window, f"{where}.window"),
        where=_conditions(raw.get("where"), f"{where}.where"),
        unit=unit,
        description=str(raw.get("description", "")),
    )


def _derived(raw: dict[str, Any], name: str, where: str, known: dict[str, Feature]) -> Feature:
    op = raw.get("op")
    arity = {"ratio": 2, "diff": 2, "zscore": 3}
    if op not in arity:
        raise InvalidDefinition(
            f"{where}.op", "one of ratio (a / b), diff (a - b), zscore ((a - mean) / std)"
        )
    inputs = raw.get("inputs")
    if not isinstance(inputs, list) or len(inputs) != arity[op]:
        raise InvalidDefinition(f"{where}.inputs", f"{op} takes {arity[op]} inputs")
    outputs: set[str] | None = None
    for item in inputs:
        if not isinstance(item, str):
            raise InvalidDefinition(f"{where}.inputs", f"{item!r} is not a name")
        if item.startswith("event."):
            if not _PATH.match(item[6:]):
                raise InvalidDefinition(f"{where}.inputs", f"{item!r} is not a field path")
            continue
        if item not in known:
            raise InvalidDefinition(
                f"{where}.inputs", f"unknown feature {item!r} (define it earlier)"
            )
        types = set(known[item].outputs_for)
        outputs = types if outputs is None else outputs & types
    declared = _event_types(raw.get("for"), f"{where}.for")
    for_events = declared or tuple(sorted(outputs or ()))
    if not for_events:
        raise InvalidDefinition(
            f"{where}.for", "its inputs share no event type; say which with for"
        )
    return Feature(
        name=name,
        kind="derived",
        op=op,
        inputs=tuple(inputs),
        for_events=for_events,
        description=str(raw.get("description", "")),
    )


def parse_feature_set(doc: Any) -> FeatureSet:
    if not isinstance(doc, dict):
        raise InvalidDefinition("feature set", "expected a mapping with name, version, features")
    name, version = doc.get("name"), doc.get("version")
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidDefinition("name", "lower_snake_case name required")
    if type(version) is not int or version < 1:
        raise InvalidDefinition("version", "a positive integer required")
    raw_features = doc.get("features")
    if not isinstance(raw_features, list) or not raw_features:
        raise InvalidDefinition("features", "a non-empty list required")
    known: dict[str, Feature] = {}
    for i, raw in enumerate(raw_features):
        f = _feature(raw, i, known)
        known[f.name] = f
    lateness = parse_duration(doc.get("lateness", "10m"), "lateness")
    return FeatureSet(
        name=name, version=version, features=tuple(known.values()), lateness_s=lateness
    )


def load_feature_set(path: Path | None = None) -> FeatureSet:
    """The feature set in ``path``, or the default one shipped with riskloop."""
    if path is None:
        text = resources.files("riskloop.features").joinpath("default.yaml").read_text("utf-8")
        where = "default.yaml"
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidDefinition(str(path), exc.strerror or "cannot read") from None
        where = str(path)
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidDefinition(where, f"not valid YAML ({exc.__class__.__name__})") from None
    return parse_feature_set(doc)
