"""The screening service: list versions (load, diff, history), searches, the names in a
decision, not-a-match suppressions and the hits analysts work; re-screening is delegated to
:mod:`.rescreen`, the index to :mod:`.index`."""

from __future__ import annotations

import hashlib
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from riskloop.domain.events import SealedBox
from riskloop.errors import FieldError, InvalidInput, NotFound
from riskloop.ledger.audit import AuditEntry
from riskloop.ledger.records import ScreenedName
from riskloop.screening.match import Query, Thresholds
from riskloop.screening.model import ListEntry, diff
from riskloop.screening.records import Hit, HitStatus, KycProfile, Suppression
from riskloop.screening.sources import load_path
from riskloop.service.screening.index import IndexCache
from riskloop.service.screening.names import event_subjects, is_pep, party
from riskloop.service.screening.ports import ScreeningStore, TaskRaiser
from riskloop.service.screening.rescreen import Rescreener, RescreenReport, suppressions_of
from riskloop.vault import Vault


@dataclass(frozen=True, slots=True)
class LoadResult:
    source: str
    version: int
    changed: bool  # False: the file held the version already loaded
    entries: int
    diff: dict[str, Any]
    closed_hits: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "version": self.version,
            "changed": self.changed,
            "entries": self.entries,
            "diff": self.diff,
            "closed_hits": self.closed_hits,
        }


def _origin(location: str) -> str:
    """A file path, or a URL without its query string and credentials (tokens live there)."""
    parsed = urllib.parse.urlsplit(location)
    if parsed.scheme in ("http", "https"):
        host = parsed.hostname or ""
        return urllib.parse.urlunsplit((parsed.scheme, host, parsed.path, "", ""))[:500]
    return location[:500]


class ScreeningService:
    def __init__(
        self,
        store: ScreeningStore,
        vault: Vault,
        *,
        tasks: TaskRaiser | None = None,
        thresholds: Thresholds = Thresholds(),
        refresh_seconds: float = 5.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.vault = vault
        self.tasks = tasks
        self.thresholds = thresholds
        self.clock = clock
        self.indexes = IndexCache(store, refresh_seconds=refresh_seconds)
        self.rescreener = Rescreener(
            store, vault, self.indexes, thresholds=thresholds, tasks=tasks, clock=clock
        )

    # -- the index and re-screening (see index.py, rescreen.py) -----------------------------

    @property
    def refresh_seconds(self) -> float:
        return self.indexes.refresh_seconds

    @refresh_seconds.setter
    def refresh_seconds(self, value: float) -> None:
        self.indexes.refresh_seconds = value

    def warm(self, *, background: bool = True) -> None:
        self.indexes.warm(background=background)

    def versions(self) -> dict[str, int]:
        return dict(self.indexes.current(force=True).versions)

    def screen_profiles(
        self, rows: Sequence[tuple[KycProfile, SealedBox | None]], *, full: bool = False
    ) -> RescreenReport:
        return self.rescreener.screen_profiles(rows, full=full)

    def screen_customers(self, customer_ids: Sequence[str]) -> RescreenReport:
        return self.rescreener.screen_customers(customer_ids)

    def rescreen(
        self,
        *,
        full: bool = False,
        batch: int = 1000,
        progress: Callable[[RescreenReport], None] | None = None,
    ) -> RescreenReport:
        return self.rescreener.rescreen(full=full, batch=batch, progress=progress)

    # -- loading ----------------------------------------------------------------------------

    def load(
        self,
        location: str | Path,
        *,
        fmt: str | None = None,
        source: str | None = None,
        actor: str,
    ) -> LoadResult:
        """Load a list from a file or directory (or an http(s) URL): a new version if any
        entry was added, removed or changed. Bad input raises InvalidInput and saves nothing."""
        text = str(location)
        if text.startswith(("http://", "https://")):
            return self._load_url(text, fmt=fmt, source=source, actor=actor)
        path = Path(text)
        if not path.exists():
            raise InvalidInput([FieldError("path", f"{text}: no such file or directory")])
        name, entries = load_path(path, fmt=fmt, source=source)
        return self.save(name, entries, origin=text, actor=actor)

    def _load_url(self, url: str, *, fmt: str | None, source: str | None, actor: str) -> LoadResult:
        suffix = Path(urllib.parse.urlsplit(url).path).suffix or ".dat"
        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp) / f"list{suffix}"
            try:
                with urllib.request.urlopen(url, timeout=60) as r:  # noqa: S310 (http(s) only)
                    target.write_bytes(r.read())
            except OSError as exc:
                raise InvalidInput(
                    [FieldError("url", f"{_origin(url)}: download failed ({type(exc).__name__})")]
                ) from None
            name, entries = load_path(target, fmt=fmt, source=source)
        return self.save(name, entries, origin=_origin(url), actor=actor)

    def save(
        self, source: str, entries: Sequence[ListEntry], *, origin: str, actor: str
    ) -> LoadResult:
        if not entries:
            raise InvalidInput([FieldError("entries", f"{source}: the list holds no entries")])
        new = {e.entry_id: e for e in entries}
        if len(new) != len(entries):
            raise InvalidInput([FieldError("entries", f"{source}: an entry id appears twice")])
        digests = {i: e.digest() for i, e in new.items()}
        old = self.store.current_digests(source)
        d = diff(old, digests)
        version = self.store.versions().get(source, 0)
        summary = d.as_dict()
        if version and not (d.added or d.removed or d.changed):
            return LoadResult(source, version, False, len(new), summary)
        version += 1
        now = self.clock()
        upserts = [(i, digests[i], new[i].as_dict()) for i in (*d.added, *d.changed)]
        closing = [*d.removed, *d.changed]
        overall = orjson.dumps(sorted(digests.items()))
        meta = {
            "source": source,
            "version": version,
            "loaded_at": now,
            "loaded_by": actor,
            "origin": origin,
            "digest": hashlib.sha256(overall).hexdigest(),
            "entries": len(new),
            "diff": summary,
        }
        counts = {k: summary[k] for k in ("added", "removed", "changed")}
        audit = AuditEntry(
            actor,
            "screening.list.load",
            "screening_list",
            f"{source}@{version}",
            {"origin": origin, "entries": len(new), **counts},
            now,
        )
        self.store.save_version(meta, upserts, closing, audit)
        closed = self.store.close_hits(source, closing, now) if closing else 0
        self.indexes.current(force=True)
        return LoadResult(source, version, True, len(new), summary, closed)

    def lists(self) -> list[dict[str, Any]]:
        return self.store.history()

    # -- searching --------------------------------------------------------------------------

    def search(
        self, query: Query, *, limit: int = 10, min_score: float | None = None
    ) -> list[dict[str, Any]]:
        if not query.name.strip():
            raise InvalidInput([FieldError("name", "must not be empty")])
        if not 1 <= limit <= 100:
            raise InvalidInput([FieldError("limit", "must be from 1 to 100")])
        floor = self.thresholds.ignore if min_score is None else min_score
        if not 0.0 <= floor <= 1.0:
            raise InvalidInput([FieldError("min_score", "must be a number from 0 to 1")])
        found = self.indexes.current(force=True).all.search(query, limit=limit, min_score=floor)
        return [
            {**m.as_dict(), "alert": m.score >= self.thresholds.alert, "pep": is_pep(m)}
            for m in found
        ]

    def screen_event(
        self, event_type: str, data: Mapping[str, Any]
    ) -> tuple[ScreenedName, ...] | None:
        """The names of a decision's event screened against the lists (clear data, before
        the vault): None when nothing in it is screened or no list is loaded."""
        idx = self.indexes.current()
        if not idx.versions:
            return None
        subjects = list(event_subjects(event_type, data))
        if not subjects:
            return None
        found = [
            (path, m)
            for path, q in subjects
            for m in idx.all.search(q, limit=3, min_score=self.thresholds.ignore)
        ]
        now = self.clock()
        # Suppressions are read only when something matched (most names match nothing).
        parties = {path: party(path, data) for path, _ in found}
        suppressed = suppressions_of(self.store, [p for p in parties.values() if p], now)
        out: list[ScreenedName] = []
        for path, m in found:
            e = m.entry
            s = suppressed.get((parties[path] or "", e.source, e.entry_id))
            out.append(
                ScreenedName(
                    field=path,
                    source=e.source,
                    entry_id=e.entry_id,
                    name=e.name,
                    score=m.score,
                    alert=m.score >= self.thresholds.alert,
                    suppressed=s is not None
                    and s.active(idx.digests.get((e.source, e.entry_id), ""), now),
                    pep=is_pep(m),
                )
            )
        return tuple(out)

    # -- false positives --------------------------------------------------------------------

    def suppress(
        self,
        customer_id: str,
        source: str,
        entry_id: str,
        *,
        note: str,
        author: str,
        expires_at: datetime | None = None,
    ) -> Suppression:
        """Mark an entry as not this customer; holds while the entry's content is unchanged."""
        errors = []
        if not customer_id.strip():
            errors.append(FieldError("customer_id", "must not be empty"))
        if not note.strip():
            errors.append(FieldError("note", "say why this is not a match"))
        if not author.strip():
            errors.append(FieldError("author", "must not be empty"))
        now = self.clock()
        if expires_at is not None and expires_at <= now:
            errors.append(FieldError("expires_at", "must be in the future"))
        if errors:
            raise InvalidInput(errors)
        digest = self.store.current_digests(source).get(entry_id)
        if digest is None:
            raise NotFound("list entry", f"{source}/{entry_id}")
        s = Suppression(customer_id, source, entry_id, digest, author, now, expires_at)
        box = self.vault.seal_note(note, context=f"suppression/{customer_id}")
        audit = AuditEntry(
            author,
            "screening.suppress",
            "customer",
            customer_id,
            {
                "source": source,
                "entry_id": entry_id,
                "expires_at": expires_at.isoformat() if expires_at else None,
            },
            now,
        )
        return self.store.add_suppression(s, box, audit)

    def suppressions(
        self, customer_id: str | None = None, *, reveal: bool = False
    ) -> list[dict[str, Any]]:
        out = []
        for s, box in self.store.suppressions([customer_id] if customer_id else None):
            d = s.as_dict()
            if reveal and box is not None:
                d["note"] = self.vault.open_note(box, context=f"suppression/{s.customer_id}")
            out.append(d)
        return out

    def revoke(self, suppression_id: int, *, actor: str) -> None:
        found = self.store.get_suppression(suppression_id)
        if found is None:
            raise NotFound("suppression", str(suppression_id))
        s, _ = found
        now = self.clock()
        audit = AuditEntry(
            actor,
            "screening.unsuppress",
            "customer",
            s.customer_id,
            {"suppression": suppression_id, "source": s.source, "entry_id": s.entry_id},
            now,
        )
        if not self.store.revoke_suppression(suppression_id, actor, now, audit):
            raise InvalidInput([FieldError("suppression", f"{suppression_id} is already revoked")])

    # -- hits -------------------------------------------------------------------------------

    def hits(
        self,
        *,
        status: str | None = None,
        customer_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Hit]:
        if status is not None and status not in {s.value for s in HitStatus}:
            raise InvalidInput(
                [FieldError("status", f"one of {', '.join(s.value for s in HitStatus)}")]
            )
        return self.store.hits(status=status, customer_id=customer_id, limit=limit, offset=offset)

    def resolve(
        self,
        hit_id: int,
        verdict: str,
        *,
        actor: str,
        note: str = "",
        expires_at: datetime | None = None,
    ) -> Hit:
        """``confirmed`` (a true match) or ``false_positive`` (suppressed for this customer
        until the entry changes, with the note)."""
        if verdict not in (HitStatus.CONFIRMED.value, HitStatus.FALSE_POSITIVE.value):
            raise InvalidInput([FieldError("verdict", "confirmed or false_positive")])
        hit = self.store.get_hit(hit_id)
        if hit is None:
            raise NotFound("screening hit", str(hit_id))
        if hit.status is not HitStatus.OPEN:
            raise InvalidInput([FieldError("hit", f"{hit_id} is {hit.status.value}, not open")])
        if verdict == HitStatus.FALSE_POSITIVE.value:
            self.suppress(
                hit.customer_id,
                hit.source,
                hit.entry_id,
                note=note,
                author=actor,
                expires_at=expires_at,
            )
        now = self.clock()
        audit = AuditEntry(
            actor,
            f"screening.hit.{verdict}",
            "customer",
            hit.customer_id,
            {"hit": hit_id, "source": hit.source, "entry_id": hit.entry_id},
            now,
        )
        done = self.store.resolve_hit(hit, HitStatus(verdict), actor, now, audit)
        self.rescreener.refresh_status([hit.customer_id])
        self._finish_task(done, actor)
        return done

    def _finish_task(self, hit: Hit, actor: str) -> None:
        """The task is done when the last open hit it was raised for is resolved."""
        if self.tasks is None or hit.task_id is None:
            return
        left = [
            h
            for h in self.store.hits(status=HitStatus.OPEN.value, customer_id=hit.customer_id)
            if h.task_id == hit.task_id
        ]
        if not left:
            self.tasks.update(
                int(hit.task_id),
                actor=actor,
                status="done",
                note=f"hit {hit.id} resolved: {hit.status.value}",
            )
