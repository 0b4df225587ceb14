"""Batch scoring with point-in-time features: replay the event and label history given,
in order, through a fresh feature engine (the live state is never touched), and score each
event of the model's type as the decision path would have at that moment."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from riskloop.domain.events import StoredEvent
from riskloop.domain.labels import label_of, label_only
from riskloop.features import EventInput, FeatureEngine, FeatureSet, MemoryState
from riskloop.scoring.port import Scorer

TOP_K = 4


def score_columns() -> list[str]:
    reasons = [f"reason_{i}" for i in range(1, TOP_K + 1)]
    values = [f"contribution_{i}" for i in range(1, TOP_K + 1)]
    return ["event_id", "event_type", "occurred_at", "model", "score", *reasons, *values]


def score_stream(
    events: Iterable[tuple[StoredEvent, bool]],
    fs: FeatureSet,
    scorer: Scorer,
    event_type: str,
) -> Iterator[dict[str, Any]]:
    """``events`` are ``(event, score_it)`` in arrival order: history is replayed with
    ``score_it=False``. Disputes apply as labels; duplicates are scored once."""
    engine = FeatureEngine(fs, MemoryState())
    for stored, wanted in events:
        label = label_of(stored)
        if label is not None:
            engine.apply_label(label)
            if label_only(stored):
                continue
        # Everything else (disputes that carry no label too) goes through the engine, as live.
        result = engine.process(
            EventInput.of(stored.event_id, stored.event_type, stored.occurred_at, stored.data)
        )
        if not wanted or stored.event_type != event_type or result.values is None:
            continue
        s = scorer.score(result.values, top_k=TOP_K)
        row: dict[str, Any] = {
            "event_id": stored.event_id,
            "event_type": stored.event_type,
            "occurred_at": stored.occurred_at,
            "model": scorer.version,
            "score": s.value,
        }
        for i in range(TOP_K):
            c = s.contributions[i] if i < len(s.contributions) else None
            row[f"reason_{i + 1}"] = c.reason if c else None
            row[f"contribution_{i + 1}"] = c.value if c else None
        yield row
