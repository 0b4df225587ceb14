"""The sanctions index of the current list versions, shared by every thread of a process.

Building the index of the full OFAC list takes seconds, so a server builds it before its
first request and, when a list changes (in this process or another), keeps screening on the
old index while a thread builds the new one. Searches, loads and re-screens build it in
place. Re-screening also needs each list alone and each list's last change, built on demand
and kept with the version they belong to.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Mapping

from riskloop.screening.match import Index
from riskloop.screening.model import ListEntry
from riskloop.service.screening.ports import ScreeningStore

log = logging.getLogger(__name__)


class Indexes:
    """The compiled indexes, per list version, shared by every thread of the process: the
    whole catalogue (searches, decisions), each source alone, and each source's last change."""

    def __init__(self) -> None:
        self.versions: dict[str, int] = {}
        self.all: Index = Index.build(())
        self.digests: dict[tuple[str, str], str] = {}
        self.by_source: dict[str, Index] = {}
        self.delta: dict[str, Index] = {}


class IndexCache:
    def __init__(self, store: ScreeningStore, *, refresh_seconds: float = 5.0) -> None:
        self.store = store
        self.refresh_seconds = refresh_seconds
        self._idx = Indexes()
        self._checked = float("-inf")
        self._lock = threading.Lock()
        self.background = False
        self._building: threading.Thread | None = None

    def current(self, *, force: bool = False) -> Indexes:
        """The indexes of the current list versions. Another process's (or this one's) load
        is noticed within ``refresh_seconds``. Building the full index takes seconds, so a
        server (``background``) keeps deciding on the old one while a thread builds the new;
        ``force`` (a load, a re-screen) builds it here and now."""
        now = time.monotonic()
        if not force and now - self._checked < self.refresh_seconds:
            return self._idx
        with self._lock:
            if not force and now - self._checked < self.refresh_seconds:
                return self._idx
            self._checked = now
            versions = self.store.versions()
            if versions == self._idx.versions:
                return self._idx
            if force or not self.background:
                self._idx = self.build(versions)
            elif self._building is None or not self._building.is_alive():
                self._building = threading.Thread(
                    target=self._build_in_background,
                    args=(versions,),
                    name="screening-index",
                    daemon=True,
                )
                self._building.start()
            return self._idx

    def build(self, versions: Mapping[str, int]) -> Indexes:
        fresh = Indexes()
        entries = [ListEntry.from_dict(b) for b in self.store.current(sorted(versions))]
        fresh.versions = dict(versions)
        fresh.all = Index.build(entries)
        fresh.digests = {(e.source, e.entry_id): e.digest() for e in entries}
        return fresh

    def _build_in_background(self, versions: Mapping[str, int]) -> None:
        try:
            fresh = self.build(versions)
        except Exception:  # the old index keeps serving; the next check tries again
            log.exception("screening index rebuild failed")
            return
        with self._lock:
            self._idx = fresh
        gc.freeze()

    def warm(self, *, background: bool = True) -> None:
        """For a server: build the index before the first request, then rebuild it in a
        background thread when a list changes."""
        self.current(force=True)
        self.background = background
        # The index is a few hundred thousand long-lived objects: keep the collector's full
        # passes (~100 ms each over them) out of the decision path.
        gc.freeze()

    def source_index(self, idx: Indexes, source: str) -> Index:
        found = idx.by_source.get(source)
        if found is None:
            found = Index.build(ListEntry.from_dict(b) for b in self.store.current([source]))
            idx.by_source[source] = found
        return found

    def delta_index(self, idx: Indexes, source: str) -> Index:
        found = idx.delta.get(source)
        if found is None:
            version = idx.versions[source]
            last = self.store.history(source, limit=1)
            d = last[0]["diff"] if last and last[0]["version"] == version else {}
            ids = sorted({*d.get("added_ids", ()), *d.get("changed_ids", ())})
            at = self.store.entries_at(source, version, ids)
            found = Index.build(ListEntry.from_dict(body) for _, body in at.values())
            idx.delta[source] = found
        return found
