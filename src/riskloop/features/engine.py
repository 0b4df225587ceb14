"""The feature engine: one event in, its feature vector out, state updated — the same code
for live traffic and for backfills, so online and offline cannot disagree.

Events are processed in arrival order. An event's features see the events that arrived
before it (see :mod:`riskloop.features.definitions`); labels count from the moment they
arrive. State older than the longest window plus the allowed lateness is evicted; an event
later than the lateness is still processed, from what is still held, and flagged ``late``.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, Protocol, TypeVar

from riskloop.domain.labels import Label
from riskloop.features.compute import EntityView, Row, Value, derive
from riskloop.features.definitions import FeatureSet
from riskloop.features.plan import EntityPlan, Plan

T = TypeVar("T")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def label_code(label: Label) -> int:
    """A label as one small integer the states store per event: ``tier * 2 + fraud``; 0
    means not labelled. ``code >> 1`` is the tier, ``code & 1`` the verdict."""
    return label.tier * 2 + int(label.fraud)


def to_ms(moment: datetime) -> int:
    """Exact integer milliseconds (``timestamp() * 1000`` can round the wrong way)."""
    return (moment - _EPOCH) // _MS


@dataclass(frozen=True, slots=True)
class EventInput:
    """What the engine needs of a stored event."""

    event_id: str
    event_type: str
    ts: int  # occurred_at in milliseconds since the epoch
    data: dict[str, Any]

    @classmethod
    def of(
        cls, event_id: str, event_type: str, occurred_at: datetime, data: dict[str, Any]
    ) -> EventInput:
        return cls(event_id, event_type, to_ms(occurred_at), data)


class Touch(NamedTuple):
    """One entity an event reads and/or updates."""

    plan: EntityPlan
    key: str
    row: Row | None  # None: read only


@dataclass(frozen=True, slots=True)
class Snapshot:
    duplicate: bool
    order: int
    max_ts_before: float  # -inf before the first event
    views: dict[str, EntityView]


@dataclass(frozen=True, slots=True)
class FeatureResult:
    event_id: str
    order: int
    values: dict[str, Value] | None  # None for a duplicate: it was counted the first time
    duplicate: bool = False
    late: bool = False


class FeatureState(Protocol):
    """Where entity histories live. ``exchange`` reads the views as they were before the event
    and records it, atomically with respect to other writers (so the order of exchanges is the
    one true order of the stream), and returns ``compute(snapshot)``. Fails closed."""

    def exchange(
        self,
        event: EventInput,
        touches: Sequence[Touch],
        plan: Plan,
        compute: Callable[[Snapshot], T],
        *,
        record: bool = True,
    ) -> T: ...

    def label(self, label: Label, plan: Plan) -> int: ...

    def close(self) -> None: ...


class FeatureEngine:
    def __init__(self, feature_set: FeatureSet, state: FeatureState) -> None:
        self.feature_set = feature_set
        self.plan = Plan(feature_set)
        self.state = state
        self.version = feature_set.version_id

    def names_for(self, event_type: str) -> tuple[str, ...]:
        tp = self.plan.by_type.get(event_type)
        return tp.names if tp else ()

    def process(self, event: EventInput, *, record: bool = True) -> FeatureResult:
        """The event's features as of its time; with ``record=False`` a what-if that leaves
        the state untouched."""
        tp = self.plan.by_type.get(event.event_type)
        touches: list[Touch] = []
        if tp is not None:
            for ep in tp.entities:
                key = ep.key(event.data)
                if key is not None:
                    row = (
                        ep.row(event.event_type, event.data)
                        if event.event_type in ep.sources
                        else None
                    )
                    touches.append(Touch(ep, key, row))
        lateness = self.plan.lateness

        def compute(snap: Snapshot) -> FeatureResult:
            if snap.duplicate:
                return FeatureResult(event.event_id, snap.order, None, duplicate=True)
            values: dict[str, Value] = {}
            if tp is not None:
                memo: dict[Any, Any] = {}
                views, ts, data = snap.views, event.ts, event.data
                for entity, cf in tp.outputs:
                    values[cf.name] = cf.evaluate(views.get(entity), ts, data, memo)
                for f in tp.derived:
                    values[f.name] = derive(f, values, event.data)
            late = event.ts < snap.max_ts_before - lateness
            return FeatureResult(event.event_id, snap.order, values, late=late)

        return self.state.exchange(event, touches, self.plan, compute, record=record)

    def apply_label(self, label: Label) -> int:
        """Count a label from now on; returns its position in the stream order."""
        return self.state.label(label, self.plan)

    def close(self) -> None:
        self.state.close()


class _History:
    __slots__ = ("fraud", "rows", "ts")

    def __init__(self) -> None:
        self.ts: list[int] = []
        self.rows: list[Row] = []
        self.fraud: list[int] = []


class MemoryState:
    """In-process state (the embedded default): sorted histories per entity, evicted past the
    horizon. Rebuilt after a restart by replaying the event log (``features.replay``)."""

    _SWEEP_EVERY = 100_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._histories: dict[tuple[str, str], _History] = {}
        # event_id -> (ts, event type, keys of entities that count its labels, label code)
        self._index: dict[str, tuple[int, str, tuple[tuple[str, str], ...], int]] = {}
        # Labels that arrived before their event: event_id -> (label code, arrival ms).
        self._pending: dict[str, tuple[int, int]] = {}
        self._max_ts: float = float("-inf")
        self._order = 0
        self._since_sweep = 0

    @property
    def entities(self) -> int:
        return len(self._histories)

    def _known(
        self, event_id: str, plan: Plan
    ) -> tuple[int, str, tuple[tuple[str, str], ...], int] | None:
        # Only what is inside the horizon counts, whether or not it was evicted yet, so that
        # the answer does not depend on when eviction ran (Redis evicts on every write).
        rec = self._index.get(event_id)
        if rec is None or rec[0] < self._max_ts - plan.lateness - plan.max_horizon:
            return None
        return rec

    def exchange(
        self,
        event: EventInput,
        touches: Sequence[Touch],
        plan: Plan,
        compute: Callable[[Snapshot], T],
        *,
        record: bool = True,
    ) -> T:
        with self._lock:
            if record:
                self._order += 1
            if self._known(event.event_id, plan) is not None:
                return compute(Snapshot(True, self._order, self._max_ts, {}))
            max_before = self._max_ts
            views: dict[str, EntityView] = {}
            for t in touches:
                h = self._histories.get((t.plan.entity, t.key))
                if h is not None:
                    floor = max_before - plan.lateness - t.plan.horizon
                    views[t.plan.entity] = EntityView(h.ts, h.rows, h.fraud, floor)
            # Computed on the live histories before the event joins them: no copies.
            result = compute(Snapshot(False, self._order, max_before, views))
            if record:
                self._record(event, touches, plan)
            return result

    def _record(self, event: EventInput, touches: Sequence[Touch], plan: Plan) -> None:
        ts = event.ts
        self._max_ts = max(self._max_ts, ts)
        for t in touches:
            if t.row is None:
                continue
            k = (t.plan.entity, t.key)
            h = self._histories.get(k)
            if h is None:
                h = self._histories[k] = _History()
            hts = h.ts
            if not hts or ts >= hts[-1]:
                hts.append(ts)
                h.rows.append(t.row)
            else:
                i = bisect_right(hts, ts)
                hts.insert(i, ts)
                h.rows.insert(i, t.row)
            cutoff = self._max_ts - plan.lateness - t.plan.horizon
            if hts[0] < cutoff or (h.fraud and h.fraud[0] < cutoff):
                self._trim(h, cutoff)
        label_keys = tuple(
            (t.plan.entity, t.key)
            for t in touches
            if t.row is not None and event.event_type in t.plan.labelled
        )
        self._index[event.event_id] = (ts, event.event_type, label_keys, 0)
        pending = self._pending.pop(event.event_id, None)
        if pending is not None and pending[1] >= self._max_ts - plan.lateness - plan.max_horizon:
            self._set_label(event.event_id, pending[0], plan)  # its label came first
        self._since_sweep += 1
        if self._since_sweep >= self._SWEEP_EVERY:
            self._sweep(plan)

    @staticmethod
    def _trim(h: _History, cutoff: float) -> None:
        # Keeps entries at the cutoff: queries exclude only what is strictly older.
        n = bisect_left(h.ts, cutoff)
        if n:
            del h.ts[:n], h.rows[:n]
        m = bisect_left(h.fraud, cutoff)
        if m:
            del h.fraud[:m]

    def _sweep(self, plan: Plan) -> None:
        """Drop whole histories and index entries that no query can reach any more."""
        self._since_sweep = 0
        for (entity, key), h in list(self._histories.items()):
            self._trim(h, self._max_ts - plan.lateness - plan.entities[entity].horizon)
            if not h.ts and not h.fraud:
                del self._histories[(entity, key)]
        cutoff = self._max_ts - plan.lateness - plan.max_horizon
        self._index = {k: v for k, v in self._index.items() if v[0] >= cutoff}
        # A label older than the horizon waits for an event that could no longer count.
        self._pending = {k: v for k, v in self._pending.items() if v[1] >= cutoff}

    def label(self, label: Label, plan: Plan) -> int:
        with self._lock:
            self._order += 1
            code = label_code(label)
            if label.event_id in self._index and self._known(label.event_id, plan) is None:
                return self._order  # evicted: past every window
            if label.event_id not in self._index:
                held = self._pending.get(label.event_id)
                if held is None or code >> 1 >= held[0] >> 1:
                    self._pending[label.event_id] = (code, to_ms(label.arrived_at))
                return self._order
            self._set_label(label.event_id, code, plan)
            return self._order

    def _set_label(self, event_id: str, code: int, plan: Plan) -> None:
        """Make ``code`` the event's label if it prevails (see :mod:`riskloop.domain.labels`)."""
        ts, etype, keys, current = self._index[event_id]
        if current and code >> 1 < current >> 1:
            return  # a lower tier never overrides
        self._index[event_id] = (ts, etype, keys, code)
        fraud, was = code & 1, current & 1
        if fraud == was:
            return
        for k in keys:
            h = self._histories.get(k)
            if h is None:
                h = self._histories[k] = _History()
            if fraud:
                insort(h.fraud, ts)
            else:
                i = bisect_left(h.fraud, ts)
                if i < len(h.fraud) and h.fraud[i] == ts:
                    del h.fraud[i]

    def close(self) -> None:
        return None
