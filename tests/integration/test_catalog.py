"""The rule catalogue on SQLite and PostgreSQL: versions, audit chain (and tampering found),
list safety, policy activation rules, and the playbook other processes see."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from riskloop.bootstrap import Riskloop
from riskloop.errors import ConflictError, InvalidDefinition, InvalidInput
from riskloop.ledger import verify_chain
from riskloop.policy import PolicyStatus
from riskloop.service.catalog import CatalogService
from tests.support.factories import PANS

RULE = {
    "id": "velocity",
    "expression": "features.card_count_1h >= 10",
    "reason": "CARD_VELOCITY",
    "action": "review",
    "event_types": ["card_payment"],
    "author": "ana",
}


def test_rule_versions_keep_history_and_audit(any_rl: Riskloop) -> None:
    c = any_rl.catalog
    c.save_rule(RULE)
    c.save_rule(
        {
            **RULE,
            "expression": "features.card_count_1h >= 8",
            "author": "bo",
            "note": "too many misses",
        }
    )
    c.set_rule_status("velocity", "shadow", "cy", "trial")
    history = c.rule_history("velocity")
    assert [(r.version, r.author, r.status.value) for r in history] == [
        (1, "ana", "active"),
        (2, "bo", "active"),
        (3, "cy", "shadow"),
    ]
    assert history[1].note == "too many misses"
    entries = list(c.store.audit().iterate())
    assert [e.action for e in entries] == ["rule.create", "rule.update", "rule.update"]
    assert entries[1].detail["previous"]["expression"] == "features.card_count_1h >= 10"
    assert verify_chain(entries) == (3, None)
    with any_rl.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2"))
    assert verify_chain(c.store.audit().iterate()) == (2, 2)


def test_an_ill_typed_rule_is_not_saved(any_rl: Riskloop) -> None:
    with pytest.raises(InvalidDefinition, match="column"):
        any_rl.catalog.save_rule({**RULE, "expression": "event.currency > 3"})
    with pytest.raises(InvalidInput):
        any_rl.catalog.save_rule({**RULE, "author": ""})
    assert any_rl.catalog.rules() == []
    assert list(any_rl.catalog.store.audit().iterate()) == []


def test_lists_are_safe_to_change(any_rl: Riskloop) -> None:
    c = any_rl.catalog
    c.save_list({"name": "cards", "kind": "block", "type": "card_token", "author": "ana"})
    with pytest.raises(InvalidInput) as err:
        c.add_entries("cards", [{"value": PANS[0]}, {"value": "4111111111111112"}], "ana")
    assert err.value.errors[0].field == "entries[1].value"
    assert c.entries("cards") == []  # all or nothing
    assert c.add_entries("cards", [{"value": PANS[0], "reason": "stolen"}], "ana") == 1
    with any_rl.engine.connect() as conn:
        dump = str(conn.execute(text("SELECT * FROM list_entries")).all())
        dump += str(conn.execute(text("SELECT * FROM audit_log")).all())
    assert PANS[0] not in dump
    assert c.entries("cards")[0].value.startswith("tok_")
    c.save_rule({**RULE, "id": "blocked", "expression": "lists.cards", "action": "decline"})
    with pytest.raises(ConflictError, match="used by rules blocked"):
        c.delete_list("cards", "ana")
    with pytest.raises(ConflictError, match="type cannot change"):
        c.save_list({"name": "cards", "kind": "block", "type": "device", "author": "ana"})
    c.set_rule_status("blocked", "disabled", "ana")
    c.delete_list("cards", "ana")
    assert c.lists() == []


def test_one_active_policy_per_event_type(any_rl: Riskloop) -> None:
    c = any_rl.catalog
    c.save_rule(RULE)
    base = {"id": "cards", "event_types": ["card_payment"], "author": "ana"}
    c.save_policy(base)
    c.save_policy({**base, "thresholds": {"review": 0.5}})
    statuses = [(p.version, p.status) for p in c.policy_versions("cards")]
    assert statuses == [(1, PolicyStatus.SHADOW), (2, PolicyStatus.ACTIVE)]
    with pytest.raises(ConflictError, match="cards@2 is already active"):
        c.save_policy({**base, "id": "other"})
    with pytest.raises(InvalidInput) as err:
        c.save_policy({**base, "rules": ["nope"]})
    assert err.value.errors[0].field == "rules[0]"
    playbook = c.playbook()
    assert playbook.active["card_payment"].policy.version_id == "cards@2"
    assert [p.policy.version_id for p in playbook.shadows["card_payment"]] == ["cards@1"]
    assert [r.rule.id for r in playbook.active["card_payment"].rules] == ["velocity"]
    c.set_policy_status("cards", 1, "retired", "ana")
    assert "card_payment" not in c.playbook().shadows


def test_another_process_sees_changes_after_refresh(any_rl: Riskloop) -> None:
    other = CatalogService(
        any_rl.catalog.store, any_rl.catalog.feature_set, any_rl.catalog.protector
    )
    assert other.playbook().active == {}
    any_rl.catalog.save_rule(RULE)
    any_rl.catalog.save_policy({"id": "cards", "event_types": ["card_payment"], "author": "a"})
    assert other.playbook().active == {}  # its snapshot until it looks again
    assert other.refresh().active["card_payment"].policy.version_id == "cards@1"
