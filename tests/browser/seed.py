"""A small world for the dashboard tests: a playbook (a block list, two rules, a policy),
decisions of every outcome, the review cases they opened, a task, and users of any role
who sign in with password and TOTP like a person would."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pyotp
from fastapi.testclient import TestClient

from riskloop.bootstrap import Riskloop
from tests.support.factories import PANS, card_payment

PASSWORD = "correct horse battery staple"
_users = itertools.count(1)

RULE_LARGE = {
    "id": "large_amount",
    "expression": "event.amount > 100000",
    "action": "review",
    "reason": "LARGE_AMOUNT",
    "event_types": ["card_payment"],
}


def seed(rl: Riskloop, *, reviews: int = 3) -> dict[str, Any]:
    """The playbook and decisions; returns what the tests look for."""
    rl.catalog.save_list(
        {"name": "blocked_devices", "kind": "block", "type": "device", "author": "seed"}
    )
    rl.catalog.add_entries("blocked_devices", [{"value": "dev-bad", "reason": "ring"}], "seed")
    rl.catalog.save_rule({**RULE_LARGE, "author": "seed"})
    rl.catalog.save_rule(
        {
            "id": "blocked_device",
            "expression": "lists.blocked_devices",
            "action": "decline",
            "reason": "BLOCKED_DEVICE",
            "priority": 10,
            "event_types": ["card_payment"],
            "author": "seed",
        }
    )
    rl.catalog.save_policy({"id": "cards", "event_types": ["card_payment"], "author": "seed"})
    decided = []
    for i in range(4):
        decided.append(rl.decisions.decide(card_payment(customer_id=f"cus-ok-{i}")).decision)
    for i in range(reviews):  # one case each: a customer per review
        event = card_payment(customer_id=f"cus-rev-{i}", amount=250000, card={"pan": PANS[1]})
        decided.append(rl.decisions.decide(event).decision)
    bad = card_payment(customer_id="cus-bad", device={"id": "dev-bad"})
    decided.append(rl.decisions.decide(bad).decision)
    rl.cases.sync()
    task = rl.tasks.raise_task("manual", "Check the night batch", key="night", actor="seed")
    return {"decisions": decided, "task": task}


def add_user(rl: Riskloop, role: str) -> tuple[str, str]:
    """A fresh user (a TOTP code is accepted once per user and 30 s): name and secret."""
    name = f"{role.replace('_', '-')}-{next(_users)}"
    return name, rl.access.add_user(name, role, PASSWORD, actor="tests")


def sign_in(client: TestClient, rl: Riskloop, role: str) -> str:
    """Sign ``client`` in through the login form as a new user of ``role``; returns the
    session's CSRF token as the pages carry it."""
    name, secret = add_user(rl, role)
    form = {"username": name, "password": PASSWORD, "code": pyotp.TOTP(secret).now()}
    r = client.post("/login", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    found = re.search(r'<meta name="csrf-token" content="([^"]+)"', client.get("/tasks").text)
    assert found is not None
    return found.group(1)
