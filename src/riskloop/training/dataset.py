"""Point-in-time training sets: the features each event had when it was decided, and the
label as known at a cut-off.

The event log is replayed, in its order, through a fresh engine with the served feature
definitions, so a row's features are exactly what the decision path computed online
(label-rate features see only the chargebacks that had arrived by then). The label of a row
is the effective label among those that had *arrived* by ``cutoff`` (by the precedence of
:mod:`riskloop.domain.labels`: a reversal withdraws a fraud claim, an analyst's verdict
outranks a customer's report); labels that arrive later do not exist for this set. Only
events at least ``maturity`` old at the cut-off are kept, since younger ones have not had
time to be charged back: counting them as good would teach the model that fraud is good.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from riskloop.domain.events import StoredEvent
from riskloop.domain.labels import Label, label_of, label_only, settle
from riskloop.features import EventInput, FeatureEngine, FeatureSet, MemoryState
from riskloop.features.engine import to_ms

# Upper bounds in minor units (cents): amount bands for per-segment metrics.
AMOUNT_BANDS = ((2_000, "<20"), (10_000, "20-100"), (50_000, "100-500"), (200_000, "500-2000"))


def amount_band(minor_units: float) -> str:
    """
    >>> amount_band(1999), amount_band(2000), amount_band(250_000)
    ('<20', '20-100', '>=2000')
    """
    for upper, name in AMOUNT_BANDS:
        if minor_units < upper:
            return name
    return ">=2000"


@dataclass
class TrainingSet:
    """Rows in log order. ``x`` holds NaN where a feature had no value."""

    event_type: str
    features: list[str]
    feature_set: str
    cutoff: datetime
    maturity: timedelta
    x: np.ndarray
    y: np.ndarray
    event_ids: list[str]
    occurred_ms: np.ndarray
    amount: np.ndarray
    card: list[str]
    channel: list[str]
    country: list[str]
    label_arrived_ms: np.ndarray  # -1 where unlabelled; leakage checks read it
    # With keep_events only: each row's event data and all its feature values (rules read both).
    events: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.event_ids)

    @property
    def positives(self) -> int:
        return int(self.y.sum())

    def snapshot_hash(self) -> str:
        """What exactly was learnt from: ids, labels and feature values, in order."""
        h = hashlib.sha256()
        h.update("\x1f".join(self.features).encode())
        h.update("\x1f".join(self.event_ids).encode())
        h.update(np.ascontiguousarray(self.y, dtype=np.int8).tobytes())
        h.update(np.ascontiguousarray(self.x, dtype=np.float64).tobytes())
        return h.hexdigest()

    def subset(self, mask: np.ndarray) -> TrainingSet:
        idx = np.flatnonzero(mask)
        pick = idx.tolist()
        return TrainingSet(
            event_type=self.event_type,
            features=self.features,
            feature_set=self.feature_set,
            cutoff=self.cutoff,
            maturity=self.maturity,
            x=self.x[idx],
            y=self.y[idx],
            event_ids=[self.event_ids[i] for i in pick],
            occurred_ms=self.occurred_ms[idx],
            amount=self.amount[idx],
            card=[self.card[i] for i in pick],
            channel=[self.channel[i] for i in pick],
            country=[self.country[i] for i in pick],
            label_arrived_ms=self.label_arrived_ms[idx],
            events=[self.events[i] for i in pick] if self.events else [],
        )


def build_training_set(
    log: Iterable[StoredEvent],
    fs: FeatureSet,
    *,
    event_type: str,
    cutoff: datetime,
    maturity: timedelta,
    keep_events: bool = False,
) -> TrainingSet:
    """Replay ``log`` and keep every ``event_type`` event that happened by
    ``cutoff - maturity``, labelled as known at ``cutoff``."""
    engine = FeatureEngine(fs, MemoryState())
    latest_ms, cutoff_ms = to_ms(cutoff - maturity), to_ms(cutoff)
    matrix = _Matrix(fs.names_for(event_type))
    ids: list[str] = []
    meta: list[tuple[int, float, str, str, str]] = []
    events: list[tuple[dict[str, Any], dict[str, Any]]] = []
    book: dict[str, Label] = {}  # the effective label of each event, as known at the cut-off
    for stored in log:
        label = label_of(stored)
        if label is not None:
            engine.apply_label(label)
            if to_ms(label.arrived_at) <= cutoff_ms:
                settle(book, label)
            if label_only(stored):
                continue
        result = engine.process(
            EventInput.of(stored.event_id, stored.event_type, stored.occurred_at, stored.data)
        )
        ts = to_ms(stored.occurred_at)
        if stored.event_type != event_type or result.values is None or ts > latest_ms:
            continue
        data = stored.data
        matrix.add(result.values)
        ids.append(stored.event_id)
        merchant = data.get("merchant") or {}
        meta.append(
            (
                ts,
                float(data.get("amount") or 0),
                str((data.get("card") or {}).get("token") or data.get("account_id") or ""),
                str(data.get("channel") or data.get("rail") or "unknown"),
                str(merchant.get("country") or (data.get("geo") or {}).get("country") or "??"),
            )
        )
        if keep_events:
            events.append((data, result.values))
    names, x = matrix.finish()
    known = [book.get(e) for e in ids]
    return TrainingSet(
        event_type=event_type,
        features=names,
        feature_set=fs.version_id,
        cutoff=cutoff,
        maturity=maturity,
        x=x,
        y=np.array([1 if k and k.fraud else 0 for k in known], dtype=np.int8),
        event_ids=ids,
        occurred_ms=np.array([m[0] for m in meta], dtype=np.int64),
        amount=np.array([m[1] for m in meta], dtype=np.float64),
        card=[m[2] for m in meta],
        channel=[m[3] for m in meta],
        country=[m[4] for m in meta],
        label_arrived_ms=np.array(
            [to_ms(k.arrived_at) if k else -1 for k in known], dtype=np.int64
        ),
        events=events,
    )


class _Matrix:
    """Feature values packed into float chunks as rows arrive: a dict kept per row would
    hold gigabytes for a million rows. Which features are numeric is decided from the first
    rows (a text value met later reads as missing)."""

    CHUNK = 65_536

    def __init__(self, candidates: list[str]) -> None:
        self.candidates = candidates
        self.names: list[str] | None = None
        self.pending: list[dict[str, Any]] = []
        self.chunks: list[np.ndarray] = []
        self.filled = self.CHUNK

    def add(self, values: dict[str, Any]) -> None:
        if self.names is None:
            self.pending.append(values)
            if len(self.pending) >= 5_000:
                self._decide()
            return
        self._put(values, self.names)

    def _decide(self) -> list[str]:
        names = self.names = _numeric(self.candidates, self.pending)
        for values in self.pending:
            self._put(values, names)
        self.pending = []
        return names

    def _put(self, values: dict[str, Any], names: list[str]) -> None:
        if self.filled == self.CHUNK:
            self.chunks.append(np.full((self.CHUNK, len(names)), np.nan))
            self.filled = 0
        row = self.chunks[-1][self.filled]
        for j, name in enumerate(names):
            v = values.get(name)
            if v is not None and not isinstance(v, str):
                row[j] = v
        self.filled += 1

    def finish(self) -> tuple[list[str], np.ndarray]:
        names = self.names if self.names is not None else self._decide()
        if not self.chunks:
            return names, np.empty((0, len(names)))
        self.chunks[-1] = self.chunks[-1][: self.filled]
        return names, np.concatenate(self.chunks)


def _numeric(names: list[str], rows: list[dict[str, Any]]) -> list[str]:
    """The features a model can read: text features (e.g. the last country) are left out
    rather than encoded, so every input has a stable numeric meaning for explanations."""
    text = {n for row in rows[:10_000] for n, v in row.items() if isinstance(v, str)}
    return [n for n in names if n not in text]
