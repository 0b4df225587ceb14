"""The rules-only baseline a model must beat: which events a set of CEL rules would have
flagged (any active rule whose action is not ``allow`` or ``tag``), on the same rows."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from riskloop.errors import FieldError, InvalidInput
from riskloop.features import FeatureSet
from riskloop.rules.cel import Activation, Vocabulary, compile_rule
from riskloop.rules.model import Action, Rule, Status
from riskloop.training.dataset import TrainingSet

FLAGGING = {Action.DECLINE, Action.REVIEW, Action.CHALLENGE}


def rule_flags(rules: Sequence[Rule], ts: TrainingSet, fs: FeatureSet) -> np.ndarray:
    """1 where a flagging rule hits. Lists are taken as empty: they change over time and are
    not part of a replay (rules that read them never hit here)."""
    if not ts.events:
        raise InvalidInput([FieldError("events", "build the set with keep_events=True")])
    vocabulary = Vocabulary.of(ts.event_type, fs, sorted(_lists(rules)))
    chosen = [
        compile_rule(replace(r, event_types=(ts.event_type,)), {ts.event_type: vocabulary})
        for r in rules
        if r.status is Status.ACTIVE and r.action in FLAGGING and ts.event_type in r.event_types
    ]
    flags = np.zeros(len(ts), dtype=np.int8)
    for i, (data, values) in enumerate(ts.events):
        activation = Activation(vocabulary, data, values, {}, None)
        flags[i] = any(e.hit for e in activation.evaluate(chosen, ts.event_type))
    return flags


def _lists(rules: Sequence[Rule]) -> set[str]:
    return {m for r in rules for m in re.findall(r"lists\.(\w+)", r.expression)}
