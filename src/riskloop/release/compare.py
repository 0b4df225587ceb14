"""Production against a candidate on the same events: what a fraud team reads before a
change goes live (a backtest) or while it runs beside production (a shadow report).

One :class:`Comparison` takes, per event, the two outcomes, the candidate's rule hits, the
amount and the label known now, in O(1) memory per event (counters only), so a backtest of a
million events holds no per-event rows. "Caught" means not approved (declined, sent to
review or challenged); events without a fraud label count as good, which undercounts fraud
in recent, unlabelled traffic for both sides alike.

>>> c = Comparison()
>>> c.add(1000, True, "approve", "decline", ("big_amount",))
>>> c.add(500, False, "approve", "review", ("big_amount",))
>>> c.add(700, None, "approve", "approve", ())
>>> r = c.report()
>>> r["candidate"]["fraud"]["caught"], r["baseline"]["fraud"]["missed_amount"]
(1, 1000.0)
>>> r["rules"][0]["rule"], r["rules"][0]["precision"], r["rules"][0]["recall"]
('big_amount', 0.5, 1.0)
>>> r["changed"]["transitions"]
{'approve -> decline': 1, 'approve -> review': 1}
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

OUTCOMES = ("approve", "challenge", "review", "decline")
MAX_OVERLAP_RULES = 20  # the overlap matrix of the rules that hit most


@dataclass
class _Side:
    outcomes: Counter[str] = field(default_factory=Counter)
    fraud: Counter[str] = field(default_factory=Counter)  # fraud events by outcome
    fraud_amount: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    good_declined: int = 0
    good_declined_amount: float = 0.0

    def add(self, outcome: str, amount: float, fraud: bool) -> None:
        self.outcomes[outcome] += 1
        if fraud:
            self.fraud[outcome] += 1
            self.fraud_amount[outcome] += amount
        elif outcome == "decline":
            self.good_declined += 1
            self.good_declined_amount += amount

    def summary(self, events: int, fraud: int, fraud_amount: float) -> dict[str, Any]:
        caught = fraud - self.fraud["approve"]
        caught_amount = fraud_amount - self.fraud_amount["approve"]
        flagged = events - self.outcomes["approve"]
        return {
            "outcomes": {o: self.outcomes[o] for o in OUTCOMES},
            "rates": {o: _ratio(self.outcomes[o], events) for o in OUTCOMES},
            "fraud": {
                "caught": caught,
                "caught_amount": round(caught_amount, 2),
                "declined": self.fraud["decline"],
                "reviewed": self.fraud["review"],
                "challenged": self.fraud["challenge"],
                "missed": self.fraud["approve"],
                "missed_amount": round(self.fraud_amount["approve"], 2),
                "recall": _ratio(caught, fraud),
                "amount_recall": _ratio(caught_amount, fraud_amount),
                "precision": _ratio(caught, flagged),
            },
            "good_declined": {
                "count": self.good_declined,
                "amount": round(self.good_declined_amount, 2),
            },
            "review_load": {
                "count": self.outcomes["review"],
                "rate": _ratio(self.outcomes["review"], events),
            },
        }


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 6) if b else None


class Comparison:
    def __init__(self) -> None:
        self.events = 0
        self.fraud = 0
        self.fraud_amount = 0.0
        self.labelled_good = 0
        self.baseline = _Side()
        self.candidate = _Side()
        self.transitions: Counter[tuple[str, str]] = Counter()
        self.hits: Counter[str] = Counter()
        self.fraud_hits: Counter[str] = Counter()
        self.fraud_hit_amount: defaultdict[str, float] = defaultdict(float)
        self.only_hits: Counter[str] = Counter()  # fraud caught by this rule alone
        self.pairs: Counter[tuple[str, str]] = Counter()

    def add(
        self,
        amount: float,
        fraud: bool | None,
        baseline: str,
        candidate: str,
        hits: Sequence[str],
    ) -> None:
        """One event: its amount, its label known now (``None``: no label), the two
        outcomes and the ids of the candidate's rules that hit."""
        is_fraud = fraud is True
        self.events += 1
        if is_fraud:
            self.fraud += 1
            self.fraud_amount += amount
        elif fraud is False:
            self.labelled_good += 1
        self.baseline.add(baseline, amount, is_fraud)
        self.candidate.add(candidate, amount, is_fraud)
        if baseline != candidate:
            self.transitions[(baseline, candidate)] += 1
        if not hits:
            return
        for rule in hits:
            self.hits[rule] += 1
            if is_fraud:
                self.fraud_hits[rule] += 1
                self.fraud_hit_amount[rule] += amount
        if is_fraud and len(hits) == 1:
            self.only_hits[hits[0]] += 1
        if len(hits) > 1:
            for a, b in combinations(sorted(set(hits)), 2):
                self.pairs[(a, b)] += 1

    def report(self) -> dict[str, Any]:
        rules: list[dict[str, Any]] = [
            {
                "rule": rule,
                "hits": n,
                "hit_rate": _ratio(n, self.events),
                "fraud_hits": self.fraud_hits[rule],
                "fraud_amount": round(self.fraud_hit_amount[rule], 2),
                "precision": _ratio(self.fraud_hits[rule], n),
                "recall": _ratio(self.fraud_hits[rule], self.fraud),
                "only_rule_on_fraud": self.only_hits[rule],
            }
            for rule, n in sorted(self.hits.items(), key=lambda kv: (-kv[1], kv[0]))
        ]
        top: list[str] = [r["rule"] for r in rules[:MAX_OVERLAP_RULES]]
        overlap = {a: {b: self.pairs[(min(a, b), max(a, b))] for b in top if b != a} for a in top}
        return {
            "events": self.events,
            "labels": {
                "fraud": self.fraud,
                "fraud_amount": round(self.fraud_amount, 2),
                "labelled_good": self.labelled_good,
                "unlabelled": self.events - self.fraud - self.labelled_good,
            },
            "baseline": self.baseline.summary(self.events, self.fraud, self.fraud_amount),
            "candidate": self.candidate.summary(self.events, self.fraud, self.fraud_amount),
            "changed": {
                "count": sum(self.transitions.values()),
                "transitions": {f"{a} -> {b}": n for (a, b), n in sorted(self.transitions.items())},
            },
            "rules": rules,
            "overlap": {a: {b: n for b, n in row.items() if n} for a, row in overlap.items()},
        }


def shadow_report(
    rows: Iterable[tuple[Mapping[str, Any], Mapping[str, Any]]], labels: Mapping[str, bool]
) -> dict[str, Any]:
    """What the shadow versions did on live traffic (``rows``: decision record and event
    data, as dicts).

    ``policies``: each shadow policy version against production on the decisions that ran
    it, in the backtest's shape. ``rules``: each rule in shadow status, on every decision
    that evaluated it — hits, fraud hits, precision, recall against all labelled fraud of
    the window, and the fraud it hit that production approved (what it would add)."""
    policies: dict[str, Comparison] = {}
    rules: Counter[str] = Counter()
    fraud_hits: Counter[str] = Counter()
    added: Counter[str] = Counter()
    added_amount: defaultdict[str, float] = defaultdict(float)
    evaluated: Counter[str] = Counter()
    fraud = 0
    for d, data in rows:
        value = data.get("amount")
        amount = float(value) if isinstance(value, int | float) else 0.0
        is_fraud = labels.get(d["event_id"]) is True
        fraud += is_fraud
        shadow_rules = [r for r in d["rules"] if r["status"] == "shadow"]
        hits = tuple(r["id"] for r in shadow_rules if r["hit"])
        for r in shadow_rules:
            evaluated[r["id"]] += 1
        for rule in hits:
            rules[rule] += 1
            if is_fraud:
                fraud_hits[rule] += 1
                if d["outcome"] == "approve":
                    added[rule] += 1
                    added_amount[rule] += amount
        for s in d["shadow"]:
            policies.setdefault(s["policy"], Comparison()).add(
                amount, labels.get(d["event_id"]), d["outcome"], s["outcome"], hits
            )
    return {
        "policies": {policy: c.report() for policy, c in sorted(policies.items())},
        "rules": [
            {
                "rule": rule,
                "evaluated": n,
                "hits": rules[rule],
                "fraud_hits": fraud_hits[rule],
                "precision": _ratio(fraud_hits[rule], rules[rule]),
                "recall": _ratio(fraud_hits[rule], fraud),
                "fraud_production_approved": added[rule],
                "fraud_production_approved_amount": round(added_amount[rule], 2),
            }
            for rule, n in sorted(evaluated.items())
        ],
        "fraud": fraud,
    }
