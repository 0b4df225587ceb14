"""Outcomes: the labels that tell, days or weeks later, what became of an event.

Fraud on a card comes back as a chargeback with the network's fraud reason code 3 to 45
days after the payment (most within two weeks); the victim of an account takeover reports
the transfers within days; a synthetic identity is found out by an analyst when its credit
line is charged off, weeks after the bust-out. Genuine payments bring noise: disputes that
are not fraud (goods not received), confirmations that a payment abroad was the customer's,
and a few "friendly fraud" chargebacks that claim fraud on a genuine payment.

Only labels known by the end of the simulation are written, as in real life: the others
are counted as not yet known. Labels are in the shape ``riskloop import labels`` and
``POST /v1/labels`` take (``label_id``, ``event_id``, ``reported_at``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from random import Random
from typing import Any

from riskloop.simulate.records import Draft, Truth, stamp
from riskloop.simulate.streams import stream

# (pattern, role) -> (label kind, chance that the victim or the bank ever says so)
_FRAUD_OUTCOMES: dict[tuple[str, str], tuple[str, float]] = {
    ("card_testing", "test_attempt"): ("chargeback", 0.2),  # small amounts often go unnoticed
    ("card_testing", "cash_out"): ("chargeback", 0.92),
    ("compromised_merchant", "card_use"): ("chargeback", 0.92),
    ("stolen_card", "card_use"): ("chargeback", 0.92),
    ("account_takeover", "payee_added"): ("customer_report", 1.0),
    ("account_takeover", "transfer"): ("customer_report", 1.0),
    ("synthetic_identity", "application"): ("analyst", 1.0),
    ("synthetic_identity", "bust_out"): ("analyst", 1.0),
}
_FRAUD_CODES = {
    ("visa", "card_not_present"): ("10.4",),
    ("visa", "card_present"): ("10.3",),
    ("mastercard", "card_not_present"): ("4837",),
    ("mastercard", "card_present"): ("4837", "4870", "4871"),
}
_DISPUTE_CODES = {"visa": ("13.1", "13.3", "13.7", "12.5"), "mastercard": ("4853", "4855", "4834")}


@dataclass(slots=True)
class LabelDraft:
    at: datetime
    body: dict[str, Any]

    def number(self, n: int, prefix: str) -> None:
        self.body["label_id"] = f"{prefix}-lbl-{n:06d}"


def _label(kind: str, target: Draft, at: datetime, **fields: Any) -> LabelDraft:
    body: dict[str, Any] = {"label_id": "", "kind": kind, "event_id": target.event_id}
    body["reported_at"] = stamp(at)
    body.update({k: v for k, v in fields.items() if v is not None})
    if target.event_type in ("card_payment", "transfer"):
        body["amount"] = target.body["amount"]
        body["currency"] = target.body["currency"]
    return LabelDraft(at, body)


def _chargeback(
    rng: Random, d: Draft, codes: tuple[str, ...], kind: str = "chargeback"
) -> LabelDraft:
    network = d.body["card"]["network"]
    delay = timedelta(days=rng.triangular(3, 45, 6))  # most within two or three weeks
    return _label(kind, d, d.at + delay, network=network, reason_code=rng.choice(codes))


def _fraud_label(
    rng: Random, d: Draft, truth: Truth, closed: dict[str, datetime]
) -> LabelDraft | None:
    kind, chance = _FRAUD_OUTCOMES.get((truth.pattern, truth.role), ("", 0.0))
    if not kind or rng.random() >= chance:
        return None
    if kind == "chargeback":
        if d.body.get("auth_result") == "declined":
            return None
        network, channel = d.body["card"]["network"], d.body["channel"]
        return _chargeback(rng, d, _FRAUD_CODES[(network, channel)])
    if kind == "customer_report":
        at = d.at + timedelta(days=rng.uniform(1, 5))
        return _label(kind, d, at, author="customer", note="I did not make this or allow it")
    # One collections review closes a synthetic customer's whole case at once.
    customer = str(d.body["customer_id"])
    if customer not in closed:
        closed[customer] = d.at + timedelta(days=rng.uniform(25, 40))
    at = max(closed[customer], d.at + timedelta(days=1))
    note = "synthetic identity: credit line drawn down and never repaid"
    return _label("analyst", d, at, fraud=True, author="collections", note=note)


def _genuine_label(rng: Random, d: Draft, friendly: list[int]) -> LabelDraft | None:
    if d.event_type != "card_payment" or d.body.get("auth_result") != "approved":
        return None
    if d.body.get("entry_mode") == "recurring":
        return None
    r = rng.random()
    abroad = d.body["merchant"]["country"] != d.body["card"]["country"]
    if d.body["channel"] == "card_present" and abroad and r < 0.1:
        # The bank asked about a payment abroad and the customer said it was theirs.
        at = d.at + timedelta(minutes=rng.randint(5, 48 * 60))
        return _label("confirmed_good", d, at, author="customer")
    if r < 0.0015:
        kind = "chargeback" if rng.random() < 0.7 else "dispute"
        return _chargeback(rng, d, _DISPUTE_CODES[d.body["card"]["network"]], kind)
    if r < 0.002 and d.body["channel"] == "card_not_present":
        friendly[0] += 1
        d.truth = Truth(
            "friendly_fraud", "disputed_as_fraud", f"friendly_fraud-{friendly[0]}", False
        )
        return _chargeback(rng, d, _FRAUD_CODES[(d.body["card"]["network"], "card_not_present")])
    if r < 0.005:
        at = d.at + timedelta(minutes=rng.randint(5, 48 * 60))
        return _label("confirmed_good", d, at, author="customer")
    return None


def outcomes(drafts: list[Draft], *, seed: int, end: datetime) -> tuple[list[LabelDraft], int]:
    """Labels for numbered ``drafts`` that arrive before ``end`` (in arrival order), and how
    many more will arrive after it."""
    rng = stream(seed, "outcomes")
    closed: dict[str, datetime] = {}
    friendly = [0]
    known: list[LabelDraft] = []
    later = 0
    for d in drafts:
        truth = d.truth
        if truth is not None and truth.fraud:
            label = _fraud_label(rng, d, truth, closed)
        elif truth is None:
            label = _genuine_label(rng, d, friendly)
        else:
            label = None
        if label is None:
            continue
        if label.at <= end:
            known.append(label)
        else:
            later += 1
    known.sort(key=lambda lbl: lbl.at)
    return known, later
