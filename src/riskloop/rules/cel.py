"""Rules in CEL (Common Expression Language) through ``cel-expr-python``, the official C++
implementation: type-checked when a rule is saved, microseconds to evaluate.

What a rule sees, each name declared with its type so a typo or a string compared with a
number is rejected at save time with the line and column:

- ``event.<path>``: the event's fields after the vault (``event.amount``, ``event.card.bin``);
- ``features.<name>``: the event's features (counts are ``int``, other numbers ``double``);
- ``lists.<name>``: whether the event matches that list (``bool``);
- ``score``: the model's score in [0, 1] (``double``);
- ``screening.score`` (``double``), ``screening.sanctions`` and ``screening.pep`` (``bool``):
  the best list match of the names in the event (a transfer's payee, the person at
  onboarding) and whether a sanctions or PEP entry matched at or above the alert threshold,
  leaving out entries an analyst suppressed for this customer. Bound only when a name in
  the event was screened.

A value that is absent (an optional field not sent, a feature with no history yet, the
score when the model is unavailable) is not bound, so a rule that needs it does not hit;
the record says why (``errors``). cel-expr-python is young (0.1.x): it stays behind this
module, which is the only one that imports it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from cel_expr_python import cel

from riskloop.credit.inputs import CREDIT_TYPES, INPUT_TYPES
from riskloop.errors import InvalidDefinition
from riskloop.features.definitions import Feature, FeatureSet
from riskloop.rules.model import Rule
from riskloop.rules.schema import CelType, event_fields

_T = cel.Type
_TYPES: dict[str, Any] = {
    "int": _T.INT,
    "double": _T.DOUBLE,
    "string": _T.STRING,
    "bool": _T.BOOL,
    "dyn": _T.DYN,
    "map": _T.Map(_T.STRING, _T.DYN),
    "list": _T.List(_T.DYN),
}
_ERROR = re.compile(r"ERROR: <input>:(\d+):(\d+): ([^\n]*)")
_INTEGRAL = frozenset({"count", "count_distinct"})
SCREENING: dict[str, CelType] = {
    "screening.score": "double",
    "screening.sanctions": "bool",
    "screening.pep": "bool",
}


def feature_type(feature: Feature) -> CelType:
    """Counts and flags are ``int``; ``last`` is whatever was last seen; the rest ``double``."""
    if feature.kind == "first_seen" or (feature.kind == "aggregate" and feature.agg in _INTEGRAL):
        return "int"
    if feature.kind == "aggregate" and feature.agg == "last":
        return "dyn"
    return "double"


@dataclass(frozen=True)
class Vocabulary:
    """Everything a rule may name, for one event type."""

    event_type: str
    features: tuple[tuple[str, CelType], ...]
    lists: tuple[str, ...]
    # The CEL environment lives as long as the vocabulary: programs compiled in it and the
    # activations they run on come from the same one.
    _env: Any = field(default=None, compare=False, hash=False, repr=False)

    @property
    def env(self) -> Any:
        if self._env is None:
            variables = {k: _TYPES[t] for k, t in self.declarations().items()}
            object.__setattr__(self, "_env", cel.NewEnv(variables=variables))
        return self._env

    @classmethod
    def of(cls, event_type: str, feature_set: FeatureSet, lists: Iterable[str]) -> Vocabulary:
        names = feature_set.names_for(event_type)
        declared = [(n, feature_type(feature_set.by_name[n])) for n in sorted(names)]
        if event_type in CREDIT_TYPES:  # an application's inputs, derived from it
            declared += [(n, cast(CelType, t)) for n, t in sorted(INPUT_TYPES.items())]
        return cls(event_type, tuple(declared), tuple(sorted(lists)))

    def declarations(self) -> dict[str, CelType]:
        decl: dict[str, CelType] = {
            f"event.{p}": t for p, t in event_fields(self.event_type).items()
        }
        decl.update({f"features.{n}": t for n, t in self.features})
        decl.update({f"lists.{n}": "bool" for n in self.lists})
        decl["score"] = "double"
        decl.update(SCREENING)
        return decl


def _explain(message: str) -> str:
    """``INVALID_ARGUMENT: ERROR: <input>:1:9: undeclared reference to 'x' ...`` ->
    ``line 1, column 9: undeclared reference to 'x'``."""
    found = _ERROR.findall(message)
    if not found:
        return message.splitlines()[0] if message else "invalid expression"
    parts = []
    for line, col, text in found:
        text = text.replace(" (in container '')", "").strip()
        parts.append(f"line {line}, column {col}: {text}")
    return "; ".join(parts)


def compile_expression(expression: str, vocabulary: Vocabulary) -> Any:
    """Parse and type-check; raises InvalidDefinition naming the position and the problem."""
    try:
        compiled = vocabulary.env.compile(expression)
    except RuntimeError as exc:
        raise InvalidDefinition(
            "expression", f"for {vocabulary.event_type}: {_explain(str(exc))}"
        ) from None
    if compiled.return_type() != _T.BOOL:
        raise InvalidDefinition(
            "expression",
            f"for {vocabulary.event_type}: must be a condition (bool), "
            f"not {compiled.return_type().name()}",
        )
    return compiled


@dataclass(frozen=True, slots=True)
class CompiledRule:
    rule: Rule
    programs: Mapping[str, Any]  # event type -> compiled CEL program


def compile_rule(rule: Rule, vocabularies: Mapping[str, Vocabulary]) -> CompiledRule:
    """Compile for each event type the rule covers; the first type error is raised."""
    if not rule.event_types:
        raise InvalidDefinition("event_types", "name at least one event type the rule reads")
    programs = {}
    for event_type in rule.event_types:
        vocabulary = vocabularies.get(event_type)
        if vocabulary is None:
            raise InvalidDefinition("event_types", f"no decisions are made on {event_type!r}")
        programs[event_type] = compile_expression(rule.expression, vocabulary)
    return CompiledRule(rule, programs)


@dataclass(frozen=True, slots=True)
class Evaluation:
    rule: Rule
    hit: bool
    error: str | None = None


def _flatten(data: Mapping[str, Any], prefix: str, wanted: Mapping[str, CelType]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        path = prefix + key
        if path in wanted:
            if value is not None:
                out[path] = value
        elif isinstance(value, Mapping):
            out.update(_flatten(value, path + ".", wanted))
    return out


_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\s*\.\s*[A-Za-z_][A-Za-z0-9_]*)*")


def reads(rules: Iterable[CompiledRule], vocabulary: Vocabulary) -> frozenset[str]:
    """The bound names (``event.amount``, ``features.x``, ``lists.y``, ``score``) that the
    rules' expressions may read, for an :class:`Activation` that binds only those (a
    backtest evaluates one changed rule a million times; binding ~100 names each time cost
    twenty times the evaluation).

    Conservative by construction: every dotted path in the text counts, a path that is a
    prefix of a name takes all names under it (``event["amount"]`` reads as ``event``, so
    every event field), and a name that is a prefix of a path is taken too (a map field, a
    macro such as ``event.items.exists``). Extra names cost time, never correctness.

    >>> from riskloop.features import load_feature_set
    >>> from riskloop.rules.model import Action
    >>> v = Vocabulary.of("card_payment", load_feature_set(None), ["bad_ips"])
    >>> rule = Rule("r", "event.amount > 100 && lists.bad_ips", "R", Action.REVIEW,
    ...             event_types=("card_payment",))
    >>> sorted(reads([compile_rule(rule, {"card_payment": v})], v))
    ['event.amount', 'lists.bad_ips']
    """
    paths = {re.sub(r"\s+", "", m) for c in rules for m in _PATH.findall(c.rule.expression)}
    names = [
        *(f"event.{p}" for p in event_fields(vocabulary.event_type)),
        *(f"features.{n}" for n, _ in vocabulary.features),
        *(f"lists.{n}" for n in vocabulary.lists),
        "score",
        *SCREENING,
    ]
    return frozenset(
        n
        for n in names
        if any(p == n or n.startswith(p + ".") or p.startswith(n + ".") for p in paths)
    )


class Activation:
    """The bindings of one decision, shared by every rule evaluated on it (all names the
    vocabulary declares, or only ``only``: see :func:`reads`)."""

    def __init__(
        self,
        vocabulary: Vocabulary,
        event: Mapping[str, Any],
        features: Mapping[str, Any],
        lists: Mapping[str, bool],
        score: float | None,
        *,
        only: frozenset[str] | None = None,
        screening: Mapping[str, Any] | None = None,
    ) -> None:
        wanted = {f"event.{p}": t for p, t in event_fields(vocabulary.event_type).items()}
        if only is not None:
            wanted = {k: t for k, t in wanted.items() if k in only}
        data = _flatten(event, "event.", wanted) if wanted else {}
        for name, _ in vocabulary.features:
            value = features.get(name)
            if value is not None and (only is None or "features." + name in only):
                data["features." + name] = value
        for name in vocabulary.lists:
            if only is None or "lists." + name in only:
                data["lists." + name] = bool(lists.get(name, False))
        if score is not None and (only is None or "score" in only):
            data["score"] = float(score)
        if screening is not None:
            for name, value in screening.items():
                if only is None or name in only:
                    data[name] = value
        self._activation = vocabulary.env.Activation(data)

    def evaluate(self, rules: Sequence[CompiledRule], event_type: str) -> list[Evaluation]:
        out = []
        activation = self._activation
        for compiled in rules:
            program = compiled.programs.get(event_type)
            if program is None:
                continue
            try:
                value = program.eval(activation).value()
            except RuntimeError as exc:  # not expected: CEL reports errors as values
                out.append(Evaluation(compiled.rule, False, str(exc)[:200]))
                continue
            # Type-checked to bool, so anything else is an error value (absent input).
            if value is True or value is False:
                out.append(Evaluation(compiled.rule, value))
            else:
                out.append(Evaluation(compiled.rule, False, _short(value)))
        return out


def _short(value: Any) -> str:
    text = str(value)
    # 'UNKNOWN: No value with name "features.x" found in Activation' -> 'features.x is absent'
    m = re.search(r'No value with name "([^"]+)"', text)
    if m:
        return f"{m.group(1)} is absent"
    return text[:200]
