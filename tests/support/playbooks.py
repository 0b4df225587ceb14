"""Small playbooks tests share."""

from __future__ import annotations

from riskloop.bootstrap import Riskloop

REVIEW_LARGE = {
    "id": "big",
    "expression": "event.amount >= 10000",
    "action": "review",
    "reason": "LARGE_AMOUNT",
    "event_types": ["card_payment"],
    "author": "ana",
}


def review_large_payments(rl: Riskloop) -> None:
    """Card payments of 100.00 or more go to review (rule ``big``, policy ``cards``)."""
    rl.catalog.save_rule(REVIEW_LARGE)
    rl.catalog.save_policy({"id": "cards", "event_types": ["card_payment"], "author": "ana"})
    rl.catalog.refresh(force=True)
