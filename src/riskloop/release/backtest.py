"""Backtests: a candidate policy (rules and/or model) replayed over recorded events, with the
features each event had when it happened, against what production did.

Two sources, one evaluation (:func:`decide`, the pipeline's own rule and policy semantics):

- **recorded decisions** (:func:`from_decisions`, the default): each decision record holds
  the feature snapshot production used, the score and which rules hit at which version. A
  rule the candidate did not change keeps its recorded hit, so a rule change over a million
  decisions evaluates only the changed rules; production's outcome is the recorded one.
- **the event log** (:func:`from_log`), for history that was imported rather than decided:
  the log is replayed from its start through a fresh feature engine (point in time, as
  training does) and both the production and the candidate playbooks are evaluated.

Lists are read as they are now (membership at each event's time, by their expiry); a
candidate model is scored on the recorded features.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from riskloop.domain.events import StoredEvent
from riskloop.domain.labels import label_of, label_only
from riskloop.features import EventInput, FeatureEngine, FeatureSet, MemoryState
from riskloop.ledger.records import ScreenedName
from riskloop.pipeline import Playbook, PolicyPlan, screening_bindings
from riskloop.policy import Outcome, stepped_up
from riskloop.rules.cel import Activation, Evaluation, reads
from riskloop.scoring.port import Scorer

FEATURES_UNAVAILABLE = "FEATURES_UNAVAILABLE"


@dataclass(frozen=True)
class Candidate:
    playbook: Playbook  # the catalogue with the candidate's rules and policies in force
    changed_rules: frozenset[str]  # rules whose recorded hits do not hold for the candidate
    scorer: Scorer | None = None  # a candidate model; None keeps production's score


@dataclass(frozen=True, slots=True)
class Replayed:
    """One event as both sides decided it."""

    event_id: str
    event_type: str
    amount: float
    baseline: str
    candidate: str
    hits: tuple[str, ...]  # the candidate's rules that hit
    score: float | None  # the candidate's score


def decide(
    playbook: Playbook,
    event_type: str,
    data: Mapping[str, Any],
    features: Mapping[str, Any],
    score: float | None,
    model_reasons: list[str],
    at: datetime,
    known: Callable[[str, int], bool | None] | None = None,
    reading: dict[tuple[Any, ...], frozenset[str]] | None = None,
    screening: Mapping[str, Any] | None = None,
) -> tuple[str, tuple[str, ...]]:
    """The outcome ``playbook`` gives an event, and the ids of its rules that hit.

    ``known(rule_id, version)`` returns a recorded hit (True/False) to reuse, or None when the
    rule must be evaluated; only the rules it cannot answer are run, on an activation that
    binds only what they read (``reading`` caches that per set of rules, for one playbook)."""
    plan: PolicyPlan | None = playbook.active.get(event_type)
    if plan is None:
        return Outcome.APPROVE.value, ()
    vocabulary = playbook.vocabularies[event_type]
    results: dict[str, Evaluation] = {}
    todo = []
    for c in plan.rules:
        hit = known(c.rule.id, c.rule.version) if known is not None else None
        if hit is None:
            todo.append(c)
        else:
            results[c.rule.id] = Evaluation(c.rule, hit)
    if todo:
        key = (event_type, *(id(c) for c in todo))
        only = reading.get(key) if reading is not None else None
        if only is None:
            only = reads(todo, vocabulary)
            if reading is not None:
                reading[key] = only
        lists = {n[6:] for n in only if n.startswith("lists.")}
        activation = Activation(
            vocabulary,
            data,
            features,
            playbook.lists.memberships(data, at, lists) if lists else {},
            score,
            only=only,
            screening=screening,
        )
        for e in activation.evaluate(todo, event_type):
            results[e.rule.id] = e
    result = plan.decide(results, score, model_reasons, step_up_done=stepped_up(data))
    return result.outcome.value, tuple(
        c.rule.id for c in plan.rules if c.rule.id in results and results[c.rule.id].hit
    )


def _amount(data: Mapping[str, Any]) -> float:
    value = data.get("amount")
    return float(value) if isinstance(value, int | float) else 0.0


def from_decisions(
    rows: Iterable[tuple[Mapping[str, Any], Mapping[str, Any]]],
    candidate: Candidate,
    *,
    top_k: int = 4,
) -> Iterator[Replayed]:
    """``rows``: ``(decision record as a dict, the event's stored data)``."""
    playbook, changed, scorer = candidate.playbook, candidate.changed_rules, candidate.scorer
    reading: dict[tuple[Any, ...], frozenset[str]] = {}
    for d, data in rows:
        event_type = d["event_type"]
        features = d["features"] or {}
        unavailable = FEATURES_UNAVAILABLE in d["fallbacks"]
        if scorer is not None and not unavailable:
            s = scorer.score(features, top_k=top_k)
            score: float | None = s.value
            reasons = [c.reason for c in s.contributions]
        else:
            score = d["score"]
            reasons = [c["reason"] for c in d["contributions"]]
        versions: Mapping[str, int] = d["rule_versions"]
        hit_ids = {r["id"] for r in d["rules"] if r["hit"]}

        def known(
            rule: str,
            version: int,
            versions: Mapping[str, int] = versions,
            hits: set[str] = hit_ids,
        ) -> bool | None:
            if scorer is not None or rule in changed or versions.get(rule) != version:
                return None  # a changed rule, or one a new score could change: evaluate it
            return rule in hits

        outcome, hits = decide(
            playbook,
            event_type,
            data,
            features,
            score,
            reasons,
            datetime.fromisoformat(d["occurred_at"]),
            known,
            reading,
            # the names as screened then (the event's names are sealed; lists move on)
            screening_bindings(
                [ScreenedName.from_dict(n) for n in d["screening"]]
                if d.get("screening") is not None
                else None
            ),
        )
        yield Replayed(d["event_id"], event_type, _amount(data), d["outcome"], outcome, hits, score)


def from_log(
    log: Iterable[StoredEvent],
    fs: FeatureSet,
    production: tuple[Playbook, Callable[[str], Scorer | None]],
    candidate: Candidate,
    *,
    start: datetime,
    end: datetime,
    event_types: frozenset[str],
    top_k: int = 4,
) -> Iterator[Replayed]:
    """Replay the whole log (features need the history before ``start``) and decide the
    events of ``event_types`` that occurred in ``[start, end)`` both ways."""
    engine = FeatureEngine(fs, MemoryState())
    playbook, champion_of = production
    for stored in log:
        label = label_of(stored)
        if label is not None:
            engine.apply_label(label)
            if label_only(stored):
                continue
        result = engine.process(
            EventInput.of(stored.event_id, stored.event_type, stored.occurred_at, stored.data)
        )
        if stored.event_type not in event_types or not start <= stored.occurred_at < end:
            continue
        features = result.values or {}
        sides = []
        for book, scorer in (
            (playbook, champion_of(stored.event_type)),
            (candidate.playbook, candidate.scorer or champion_of(stored.event_type)),
        ):
            s = scorer.score(features, top_k=top_k) if scorer is not None else None
            reasons = [c.reason for c in s.contributions] if s else []
            value = s.value if s else None
            sides.append(
                (
                    decide(
                        book,
                        stored.event_type,
                        stored.data,
                        features,
                        value,
                        reasons,
                        stored.occurred_at,
                    ),
                    value,
                )
            )
        ((base, _), _), ((cand, hits), score) = sides
        yield Replayed(
            stored.event_id, stored.event_type, _amount(stored.data), base, cand, hits, score
        )
