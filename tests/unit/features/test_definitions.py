"""Feature-set YAML: the default loads; every mistake is named with the feature and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from riskloop.errors import InvalidDefinition
from riskloop.features import load_feature_set, parse_feature_set

GOOD = {"name": "n", "entity": "card", "agg": "count", "window": "1h", "events": ["card_payment"]}


def _doc(*features: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"name": "t", "version": 1, "features": list(features), **top}


def test_the_default_set_loads_with_twenty_plus_windowed_card_features() -> None:
    fs = load_feature_set()
    windowed = [f for f in fs.features if f.window_s and "card_payment" in f.events]
    assert len(windowed) >= 20
    kinds = {f.kind for f in fs.features}
    assert kinds == {"aggregate", "geo_velocity", "first_seen", "label_rate", "derived"}
    assert set(fs.names_for("login")) >= {"login_new_device", "login_failed_count_1h"}
    assert "customer_logins_before_transfer_1h" in fs.names_for("transfer")


def test_version_id_changes_with_the_definitions() -> None:
    a = parse_feature_set(_doc(GOOD))
    b = parse_feature_set(_doc({**GOOD, "window": "2h"}))
    assert a.version_id.startswith("t@1+")
    assert a.version_id != b.version_id
    assert a.version_id == parse_feature_set(_doc(GOOD)).version_id


@pytest.mark.parametrize(
    ("feature", "where", "reason"),
    [
        ({**GOOD, "window": "90 minutes"}, "feature n.window", "not a duration"),
        ({**GOOD, "entity": "planet"}, "feature n.entity", "one of card"),
        ({**GOOD, "agg": "median"}, "feature n.agg", "one of count"),
        ({**GOOD, "agg": "sum"}, "feature n.field", "required for sum"),
        ({**GOOD, "events": ["wire"]}, "feature n.events", "unknown event type"),
        ({**GOOD, "events": None}, "feature n.events", "required"),
        ({**GOOD, "where": {"amount": {"about": 5}}}, "feature n.where.amount", "unknown operator"),
        ({**GOOD, "where": {"mcc": {"in": "5411"}}}, "feature n.where.mcc", "needs a list"),
        ({**GOOD, "colour": "red"}, "feature n", "unknown key"),
        ({**GOOD, "name": "Bad-Name"}, "feature Bad-Name", "lower_snake_case"),
        ({**GOOD, "name": 7}, "features[0]", "lower_snake_case"),
        ({**GOOD, "name": "late"}, "feature late", "reserved"),
        ({**GOOD, "kind": "magic"}, "feature n.kind", "one of"),
        (
            {"name": "d", "kind": "derived", "op": "ratio", "inputs": ["event.amount", "nope"]},
            "feature d.inputs",
            "unknown feature",
        ),
        (
            {"name": "d", "kind": "derived", "op": "zscore", "inputs": ["event.amount"]},
            "feature d.inputs",
            "takes 3",
        ),
        (
            {"name": "f", "kind": "first_seen", "entity": "customer", "events": ["login"]},
            "feature f.field",
            "required",
        ),
    ],
)
def test_mistakes_are_named(feature: dict[str, Any], where: str, reason: str) -> None:
    with pytest.raises(InvalidDefinition) as info:
        parse_feature_set(_doc(feature))
    assert info.value.where == where
    assert reason in info.value.reason


def test_a_name_defined_twice_is_refused() -> None:
    with pytest.raises(InvalidDefinition, match="defined twice"):
        parse_feature_set(_doc(GOOD, GOOD))


@pytest.mark.parametrize(
    ("doc", "where"),
    [
        ({"version": 1, "features": [GOOD]}, "name"),
        ({"name": "t", "version": "1", "features": [GOOD]}, "version"),
        ({"name": "t", "version": 1, "features": []}, "features"),
        ({"name": "t", "version": 1, "features": [GOOD], "lateness": "soon"}, "lateness"),
        ([1, 2], "feature set"),
    ],
)
def test_bad_top_level(doc: Any, where: str) -> None:
    with pytest.raises(InvalidDefinition) as info:
        parse_feature_set(doc)
    assert info.value.where == where


def test_unreadable_and_invalid_yaml_files(tmp_path: Path) -> None:
    with pytest.raises(InvalidDefinition, match="No such file"):
        load_feature_set(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("features: [\n")
    with pytest.raises(InvalidDefinition, match="not valid YAML"):
        load_feature_set(bad)
