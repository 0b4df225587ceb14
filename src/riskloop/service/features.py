"""Feature use cases: keep the online state in step with the event log, preview an event's
features, and backfill point-in-time features for history.

The event log's order is the stream order. In-process state *follows the log*: after each
append, and every second in a server, :meth:`FeatureService.catch_up` applies every event
stored since the last one applied, in log order — including events that another process
(``riskloop import``) stored. A restart or a backfill replays the log the same way through
the same engine, which is why online and offline features agree. Shared state (Redis) is
updated directly by whichever process stores the event, in the order Redis serialises.
Disputes with fraud reason codes are labels: they count from their place in the stream; so
are challenge results (``step_up`` labels), which the features count as events too.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from riskloop.domain.events import StoredEvent
from riskloop.domain.labels import Label, label_of, label_only, settle
from riskloop.domain.ports import EventLog, FeatureBacklog
from riskloop.errors import RiskloopError
from riskloop.features import EventInput, FeatureEngine, FeatureResult, FeatureSet, MemoryState

log = logging.getLogger(__name__)


class VectorSink(Protocol):
    """Where backfilled vectors go (a Parquet file by default)."""

    def write(self, rows: list[dict[str, Any]]) -> None: ...

    def fail(self) -> None: ...

    def close(self) -> None: ...


@dataclass
class ReplayStats:
    events: int = 0
    labels: int = 0
    late: int = 0
    duplicates: int = 0


@contextmanager
def gc_paused() -> Iterator[None]:
    """Replays build millions of small, acyclic objects (history rows); the cyclic garbage
    collector would walk them again and again for nothing (a quarter of a backfill's time)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def as_input(stored: StoredEvent) -> EventInput:
    return EventInput.of(stored.event_id, stored.event_type, stored.occurred_at, stored.data)


def iterate_log(events: EventLog, *, after: int = 0, page: int = 5000) -> Iterator[StoredEvent]:
    while True:
        batch = events.scan(after_seq=after, limit=page)
        if not batch:
            return
        yield from batch
        after = batch[-1].seq or after


MAX_MISSED = 100_000


REPAIR_BATCH, REPAIR_ROUND = 500, 20_000


class FeatureService:
    def __init__(
        self,
        engine: FeatureEngine,
        events: EventLog,
        *,
        follow_log: bool = True,
        backlog: FeatureBacklog | None = None,
    ) -> None:
        self.engine = engine
        self.events = events
        self.follow_log = follow_log
        self.backlog = backlog
        self.applied_seq = 0  # with follow_log: the last log position applied to the state
        self.lock = threading.RLock()  # one writer of the state at a time, in log order
        self.failures = 0
        # Shared state only: events stored while the state failed, counted by ``repair``
        # once it answers again. Their ids go to the database's backlog (any process, or
        # this one restarted, repairs them); only if that write fails too are they kept
        # here, bounded: past the bound ``riskloop features rebuild`` restores the state.
        self.missed: dict[str, StoredEvent] = {}
        self.missed_overflow = False
        # Called with every vector computed for a live event (decision records, monitoring).
        self.listeners: list[Callable[[StoredEvent, FeatureResult], None]] = []

    def _apply(self, stored: StoredEvent, stats: ReplayStats) -> FeatureResult | None:
        label = label_of(stored)
        if label is not None:
            self.engine.apply_label(label)
            stats.labels += 1
            if label_only(stored):
                return None
        result = self.engine.process(as_input(stored))
        stats.events += 1
        stats.late += result.late
        stats.duplicates += result.duplicate
        return result

    def observe(self, stored: StoredEvent) -> FeatureResult | None:
        """Count one newly stored event (or apply it as a label), and tell the listeners.

        Fails open: the event is already durable, so a state failure is logged and counted
        (``failures``) rather than turned into an error for a client that would then retry
        into a duplicate; ``riskloop features rebuild`` restores the state from the log."""
        try:
            result = self._apply(stored, ReplayStats())
        except RiskloopError as exc:
            self.failures += 1
            log.error("feature state not updated for %s: %s", stored.event_id, exc)
            if not self.follow_log:  # in-process state catches up from the log by itself
                self._remember(stored)
            return None
        if result is not None:
            for listener in self.listeners:
                listener(stored, result)
        return result

    def _remember(self, stored: StoredEvent) -> None:
        if self.backlog is not None:
            try:
                self.backlog.add([stored.event_id])
                return
            except RiskloopError as exc:
                log.error("feature backlog not written for %s: %s", stored.event_id, exc)
        if len(self.missed) >= MAX_MISSED:
            if not self.missed_overflow:
                log.error(
                    "over %d events missed by the feature state: run "
                    "`riskloop features rebuild` once it is back",
                    MAX_MISSED,
                )
            self.missed_overflow = True
            return
        self.missed[stored.event_id] = stored

    def missed_count(self) -> int:
        """Events stored but not yet counted in the shared state (every process's)."""
        return len(self.missed) + (self.backlog.count() if self.backlog is not None else 0)

    def repair(self) -> int:
        """Count the events the shared state missed while it failed, in the order they
        were stored; stop at the first failure (still down) and keep the rest. Counting is
        by event id, so an event the state did hold after all (or that another process
        repaired meanwhile) is not counted twice."""
        done = 0
        with self.lock:
            for event_id, stored in list(self.missed.items()):
                try:
                    self.count_stored(stored)
                except RiskloopError:
                    return self._repaired(done)
                del self.missed[event_id]
                done += 1
        if self.backlog is not None:  # outside the lock: usually one empty read
            done += self._repair_backlog(self.backlog)
        return self._repaired(done)

    def _repair_backlog(self, backlog: FeatureBacklog) -> int:
        """Up to ``REPAIR_ROUND`` events a call, so the follower thread moves on."""
        done = 0
        try:
            for _ in range(REPAIR_ROUND // REPAIR_BATCH):
                ids = backlog.pending(REPAIR_BATCH)
                if not ids:
                    break
                counted: list[str] = []
                try:
                    for event_id in ids:
                        stored = self.events.get(event_id)
                        if stored is not None:  # None: erased by retention since
                            self.count_stored(stored)
                        counted.append(event_id)
                finally:
                    backlog.remove(counted)
                    done += len(counted)
        except RiskloopError as exc:  # still down: the rest waits for the next round
            log.debug("feature repair stopped: %s", exc)
        return done

    def _repaired(self, done: int) -> int:
        if done:
            log.warning("feature state: %d missed events counted", done)
        return done

    def count_stored(self, stored: StoredEvent) -> FeatureResult | None:
        """Count an event already in the log that shared state may have missed (its update
        failed, or the process died before it). The state knows the events it holds by id
        inside the horizon, so this counts an event at most once: the result is a duplicate
        (no values) if it was counted before. Fails closed: the state's error is raised."""
        result = self._apply(stored, ReplayStats())
        if result is not None and not result.duplicate:
            for listener in self.listeners:
                listener(stored, result)
        return result

    def catch_up(
        self, on_result: Callable[[StoredEvent, FeatureResult | None], None] | None = None
    ) -> int:
        """Apply what the log holds beyond the last applied position (in-process state);
        returns how many records were applied."""
        if not self.follow_log:
            return 0
        with self.lock:
            n = 0
            for stored in iterate_log(self.events, after=self.applied_seq):
                result = self.observe(stored)
                self.applied_seq = stored.seq or self.applied_seq
                n += 1
                if on_result is not None:
                    on_result(stored, result)
            return n

    def rebuild(self) -> ReplayStats:
        """Replay the whole log into fresh state (start-up; after a Redis reset)."""
        with self.lock, gc_paused():
            stats = ReplayStats()
            self.applied_seq = 0
            for stored in iterate_log(self.events):
                self._apply(stored, stats)
                self.applied_seq = stored.seq or self.applied_seq
        if self.backlog is not None:  # everything in the log is counted now
            self.backlog.clear()
        self.missed.clear()
        log.info("feature state rebuilt from %d events and %d labels", stats.events, stats.labels)
        return stats

    def preview(
        self, event_id: str, event_type: str, data: dict[str, Any], occurred_at: Any
    ) -> FeatureResult:
        """What the features of this event would be now, without recording it."""
        self.catch_up()
        return self.engine.process(
            EventInput.of(event_id, event_type, occurred_at, data), record=False
        )

    def replay(
        self,
        source: Iterator[StoredEvent],
        on_result: Callable[[StoredEvent, FeatureResult], None] | None = None,
    ) -> ReplayStats:
        """Run ``source`` through the engine (a backfill's fresh engine, typically)."""
        stats = ReplayStats()
        for stored in source:
            result = self._apply(stored, stats)
            if result is not None and on_result is not None:
                on_result(stored, result)
        return stats

    def backfill(
        self,
        sink: VectorSink,
        *,
        batch: int = 20_000,
        progress: Callable[[int], None] | None = None,
        feature_set: FeatureSet | None = None,
    ) -> ReplayStats:
        """Point-in-time features of every event in the log, in log order, to ``sink``.

        Runs a fresh in-process engine with the same definitions (or ``feature_set``, a part
        of them): a backfill never reads or changes the live (possibly shared) state."""
        fs = feature_set or self.engine.feature_set
        fresh = FeatureService(FeatureEngine(fs, MemoryState()), self.events)
        names = sorted(f.name for f in fs.features)
        rows: list[dict[str, Any]] = []

        def collect(stored: StoredEvent, result: FeatureResult) -> None:
            row: dict[str, Any] = dict.fromkeys(names)
            row.update(
                event_id=stored.event_id,
                event_type=stored.event_type,
                occurred_at=stored.occurred_at,
                seq=stored.seq,
                late=result.late,
            )
            if result.values:
                row.update(result.values)
            rows.append(row)
            if len(rows) >= batch:
                sink.write(rows)
                if progress:
                    progress(len(rows))
                rows.clear()

        try:
            with gc_paused():
                stats = fresh.replay(iterate_log(self.events), collect)
            if rows:
                sink.write(rows)
                if progress:
                    progress(len(rows))
        except BaseException:
            sink.fail()
            raise
        finally:
            sink.close()
        return stats

    def labels_as_of(self, cutoff: datetime) -> dict[str, bool]:
        """Each labelled event's label as known at ``cutoff``, by precedence (see
        :mod:`riskloop.domain.labels`). Labels that arrived after the cutoff do not exist here."""
        book: dict[str, Label] = {}
        for stored in iterate_log(self.events):
            label = label_of(stored)
            if label is not None and label.arrived_at <= cutoff:
                settle(book, label)
        return {event_id: label.fraud for event_id, label in book.items()}
