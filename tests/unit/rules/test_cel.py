"""CEL rules: rejected at save time with the position when they name something unknown or
mix types; evaluated on one shared activation; absent values make a rule not hit."""

from __future__ import annotations

import pytest

from riskloop.errors import InvalidDefinition
from riskloop.features import load_feature_set
from riskloop.rules.cel import Activation, Vocabulary, compile_expression, compile_rule
from riskloop.rules.model import Action, Rule

FS = load_feature_set()
CARD = Vocabulary.of("card_payment", FS, ["blocked_devices"])
TRANSFER = Vocabulary.of("transfer", FS, ["blocked_devices"])
LOGIN = Vocabulary.of("login", FS, ["blocked_devices"])


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("features.nope > 1", "line 1, column 9: undeclared reference to 'features.nope'"),
        ("event.card.pan == '4111'", "undeclared reference to 'event.card.pan'"),
        ("lists.unknown_list", "undeclared reference to 'lists.unknown_list'"),
        (
            "event.currency > 3",
            "column 16: found no matching overload for '_>_' applied to '(string, int)'",
        ),
        ("features.card_amount_mean_30d > 3", "applied to '(double, int)'"),
        ("event.amount + 1", "must be a condition (bool), not INT"),
        ("event.amount >", "line 1, column 15: Syntax error"),
    ],
)
def test_bad_expressions_are_rejected_with_the_position(expression: str, message: str) -> None:
    with pytest.raises(InvalidDefinition) as err:
        compile_expression(expression, CARD)
    assert err.value.where == "expression"
    assert err.value.reason.startswith("for card_payment: ")
    assert message in err.value.reason


@pytest.mark.parametrize(
    ("vocabulary", "expression"),
    [
        (CARD, "features.card_count_1h >= 10"),  # velocity
        (CARD, 'features.card_speed_kmh > 900.0 && event.channel == "card_present"'),
        (TRANSFER, "features.customer_new_device_logins_24h >= 2 && event.amount > 100000"),
        (CARD, "event.card.country != event.geo.country"),  # BIN country vs where
        (CARD, "lists.blocked_devices"),
        (CARD, "features.card_small_declined_count_10m >= 3"),  # card testing
        (CARD, "features.card_amount_mean_30d > 3.0 && score > 0.5"),
        (CARD, "event.merchant.mcc in ['7995', '4829'] && event.email_hash != ''"),
        (LOGIN, "features.login_failed_count_1h >= 5 && event.mfa != 'passed'"),
    ],
)
def test_documented_examples_compile(vocabulary: Vocabulary, expression: str) -> None:
    compile_expression(expression, vocabulary)


def _rule(expression: str, *types: str) -> Rule:
    return Rule("r", expression, "R_HIT", Action.REVIEW, event_types=types)


def test_a_rule_compiles_for_each_of_its_event_types_or_not_at_all() -> None:
    both = compile_rule(
        _rule("event.amount > 10", "card_payment", "transfer"),
        {"card_payment": CARD, "transfer": TRANSFER},
    )
    assert set(both.programs) == {"card_payment", "transfer"}
    with pytest.raises(InvalidDefinition, match=r"for transfer: .*event\.channel"):
        compile_rule(
            _rule("event.channel == 'x'", "card_payment", "transfer"),
            {"card_payment": CARD, "transfer": TRANSFER},
        )
    with pytest.raises(InvalidDefinition, match="at least one event type"):
        compile_rule(_rule("true"), {"card_payment": CARD})


def _evaluate(expression: str, event: dict, features: dict, lists: dict, score: float | None):
    compiled = compile_rule(_rule(expression, "card_payment"), {"card_payment": CARD})
    return Activation(CARD, event, features, lists, score).evaluate([compiled], "card_payment")[0]


EVENT = {"amount": 5000, "channel": "card_not_present", "card": {"token": "tok_1", "country": "DE"}}


def test_hits_and_misses() -> None:
    assert _evaluate("event.amount > 1000", EVENT, {}, {}, None).hit is True
    assert _evaluate("event.amount > 9000", EVENT, {}, {}, None).hit is False
    assert _evaluate("features.card_count_1h >= 3", EVENT, {"card_count_1h": 3}, {}, None).hit
    assert _evaluate("lists.blocked_devices", EVENT, {}, {"blocked_devices": True}, None).hit
    assert not _evaluate("lists.blocked_devices", EVENT, {}, {}, None).hit
    assert _evaluate("score >= 0.75", EVENT, {}, {}, 0.75).hit


@pytest.mark.parametrize(
    ("expression", "features", "score", "absent"),
    [
        ("event.geo.country == 'DE'", {}, 0.1, "event.geo.country"),  # not sent
        (
            "features.card_seconds_since_last < 60.0",
            {"card_seconds_since_last": None},
            0.1,
            "features.card_seconds_since_last",
        ),  # no history yet
        ("score > 0.5", {}, None, "score"),  # model unavailable
    ],
)
def test_an_absent_value_makes_the_rule_not_hit_and_says_why(
    expression: str, features: dict, score: float | None, absent: str
) -> None:
    result = _evaluate(expression, EVENT, features, {}, score)
    assert result.hit is False
    assert result.error == f"{absent} is absent"
    negated = _evaluate(f"!({expression})", EVENT, features, {}, score)
    assert negated.hit is False  # absent is not "false": the negation does not fire either
