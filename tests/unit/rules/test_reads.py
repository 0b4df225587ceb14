"""An activation that binds only what the rules read gives the same results as the full
one: the backtest's shortcut can never change an outcome."""

from __future__ import annotations

import pytest

from riskloop.features import load_feature_set
from riskloop.rules.cel import Activation, Vocabulary, compile_rule, reads
from riskloop.rules.model import Action, Rule

FS = load_feature_set()
LISTS = ["blocked_devices", "risky_ips"]
CARD = Vocabulary.of("card_payment", FS, LISTS)


def _compiled(expression: str) -> object:
    rule = Rule("r", expression, "R", Action.REVIEW, event_types=("card_payment",))
    return compile_rule(rule, {"card_payment": CARD})


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("event.amount > 100", {"event.amount"}),
        ("event . amount > 100 &&\n features.card_count_1h >= 3", None),
        ("lists.risky_ips || score > 0.9", {"lists.risky_ips", "score"}),
        ("event.merchant.mcc == '7995'", {"event.merchant.mcc"}),
    ],
)
def test_reads_finds_the_names(expression: str, expected: set[str] | None) -> None:
    found = reads([_compiled(expression)], CARD)  # type: ignore[list-item]
    if expected is None:
        assert {"event.amount", "features.card_count_1h"} <= found
    else:
        assert found == expected


EXPRESSIONS = [
    "event.amount > 5000",
    "lists.blocked_devices",
    "lists.risky_ips && event.channel == 'card_not_present'",
    "features.card_count_1h >= 2 || score >= 0.5",
    "event.geo.country != event.merchant.country",
    "event.amount > 100 && event.three_ds != 'authenticated'",
    "features.card_amount_sum_1h > 10000.0",
]
EVENTS = [
    {
        "amount": 6000,
        "channel": "card_not_present",
        "geo": {"country": "FR"},
        "merchant": {"country": "DE", "mcc": "5411"},
    },
    {"amount": 50, "channel": "card_present", "merchant": {"country": "DE"}},
    {
        "amount": 150,
        "three_ds": "authenticated",
        "merchant": {"country": "NL"},
        "geo": {"country": "NL"},
    },
]
FEATURES = [{"card_count_1h": 3, "card_amount_sum_1h": 20000.0}, {}, {"card_count_1h": 1}]


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_only_what_is_read_gives_the_same_results(expression: str) -> None:
    compiled = _compiled(expression)
    only = reads([compiled], CARD)  # type: ignore[list-item]
    for event in EVENTS:
        for features in FEATURES:
            for score in (None, 0.7):
                lists = {"blocked_devices": True, "risky_ips": event["amount"] > 100}
                full = Activation(CARD, event, features, lists, score)
                lean = Activation(CARD, event, features, lists, score, only=only)
                a = full.evaluate([compiled], "card_payment")  # type: ignore[list-item]
                b = lean.evaluate([compiled], "card_payment")  # type: ignore[list-item]
                assert [(e.hit, e.error) for e in a] == [(e.hit, e.error) for e in b]
