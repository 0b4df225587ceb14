"""Sanctions list snapshots, screening hits, suppressions and KYC profiles in SQL.

A list version is saved in one transaction with its audit entry: the ``(source, version)``
primary key makes two loads of the same version race safely (one wins, the other gets a
conflict), and entry rows are closed and opened so any past version can be read back.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from riskloop.adapters.sql.catalog import SqlAuditLog
from riskloop.adapters.sql.schema import (
    cursors,
    kyc_profiles,
    screening_entries,
    screening_hits,
    screening_lists,
    screening_suppressions,
)
from riskloop.domain.events import SealedBox
from riskloop.errors import ConflictError, StorageError
from riskloop.ledger.audit import AuditEntry
from riskloop.screening.records import (
    Hit,
    HitStatus,
    KycProfile,
    SanctionsStatus,
    Suppression,
    pep_programs,
)

_CHUNK = 500  # ids per IN (...) clause


def _box(ct: bytes | None, wk: bytes | None, kv: int | None) -> SealedBox | None:
    return SealedBox(ct, wk, kv) if ct is not None and wk is not None and kv is not None else None


def _sealed(prefix: str, box: SealedBox | None) -> dict[str, Any]:
    return {
        f"{prefix}_ciphertext": box.ciphertext if box else None,
        f"{prefix}_wrapped_key": box.wrapped_key if box else None,
        f"{prefix}_key_version": box.key_version if box else None,
    }


def _hit(r: Any) -> Hit:
    return Hit(
        customer_id=r.customer_id,
        source=r.source,
        entry_id=r.entry_id,
        entry_digest=r.entry_digest,
        list_version=r.list_version,
        score=r.score,
        match=r.match,
        status=HitStatus(r.status),
        first_seen_at=r.first_seen_at,
        updated_at=r.updated_at,
        resolved_by=r.resolved_by,
        task_id=r.task_id,
        id=r.id,
    )


def _profile(r: Any) -> KycProfile:
    return KycProfile(
        customer_id=r.customer_id,
        subject_kind=r.subject,
        event_id=r.event_id,
        occurred_at=r.occurred_at,
        verification_status=r.verification_status,
        risk_rating=r.risk_rating,
        document_check=r.document_check,
        next_review_at=r.next_review_at,
        sanctions_status=SanctionsStatus(r.sanctions_status),
        pep_status=SanctionsStatus(r.pep_status),
        screened=r.screened or {},
        screened_at=r.screened_at,
        updated_at=r.updated_at,
        version=r.version,
        row_id=r.id,
    )


def _profile_values(profile: KycProfile, subject: SealedBox | None) -> dict[str, Any]:
    return {
        "customer_id": profile.customer_id,
        "subject": profile.subject_kind,
        "event_id": profile.event_id,
        "occurred_at": profile.occurred_at,
        "verification_status": profile.verification_status,
        "risk_rating": profile.risk_rating,
        "document_check": dict(profile.document_check) if profile.document_check else None,
        "next_review_at": profile.next_review_at,
        "sanctions_status": profile.sanctions_status.value,
        "pep_status": profile.pep_status.value,
        "screened": dict(profile.screened),
        "screened_at": profile.screened_at,
        "updated_at": profile.updated_at,
        "version": 1,
        **_sealed("subject", subject),
    }


def _suppression(r: Any) -> tuple[Suppression, SealedBox | None]:
    s = Suppression(
        customer_id=r.customer_id,
        source=r.source,
        entry_id=r.entry_id,
        entry_digest=r.entry_digest,
        author=r.author,
        created_at=r.created_at,
        expires_at=r.expires_at,
        revoked_at=r.revoked_at,
        revoked_by=r.revoked_by,
        id=r.id,
    )
    return s, _box(r.note_ciphertext, r.note_wrapped_key, r.note_key_version)


class SqlScreeningStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def _tx(self, what: str) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except (ConflictError, StorageError):
            raise
        except SQLAlchemyError as exc:
            raise StorageError(f"screening {what} failed: {type(exc).__name__}") from exc

    def _read(self, q: Any) -> list[Any]:
        try:
            with self.engine.connect() as conn:
                return list(conn.execute(q))
        except SQLAlchemyError as exc:
            raise StorageError(f"screening read failed: {type(exc).__name__}") from exc

    # -- list versions ----------------------------------------------------------------------

    def versions(self) -> dict[str, int]:
        q = select(screening_lists.c.source, func.max(screening_lists.c.version)).group_by(
            screening_lists.c.source
        )
        return {r[0]: int(r[1]) for r in self._read(q)}

    def history(self, source: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        q = select(screening_lists).order_by(
            screening_lists.c.loaded_at.desc(), screening_lists.c.version.desc()
        )
        if source is not None:
            q = q.where(screening_lists.c.source == source)
        return [
            {
                "source": r.source,
                "version": r.version,
                "loaded_at": r.loaded_at.isoformat(),
                "loaded_by": r.loaded_by,
                "origin": r.origin,
                "digest": r.digest,
                "entries": r.entries,
                "diff": r.diff,
            }
            for r in self._read(q.limit(limit))
        ]

    def current_digests(self, source: str) -> dict[str, str]:
        e = screening_entries.c
        q = select(e.entry_id, e.digest).where(e.source == source, e.version_to.is_(None))
        return {r[0]: r[1] for r in self._read(q)}

    def current(self, sources: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """The bodies of every current entry (of these sources)."""
        e = screening_entries.c
        q = select(e.body).where(e.version_to.is_(None))
        if sources is not None:
            q = q.where(e.source.in_(list(sources)))
        return [r[0] for r in self._read(q.order_by(e.source, e.entry_id))]

    def entries_at(
        self, source: str, version: int, entry_ids: Sequence[str]
    ) -> dict[str, tuple[str, dict[str, Any]]]:
        """entry id -> (digest, body) as of ``version`` (for a diff's changed entries)."""
        e = screening_entries.c
        out: dict[str, tuple[str, dict[str, Any]]] = {}
        for i in range(0, len(entry_ids), _CHUNK):
            q = select(e.entry_id, e.digest, e.body).where(
                e.source == source,
                e.entry_id.in_(list(entry_ids[i : i + _CHUNK])),
                e.version_from <= version,
                (e.version_to.is_(None)) | (e.version_to > version),
            )
            out.update({r[0]: (r[1], r[2]) for r in self._read(q)})
        return out

    def save_version(
        self,
        meta: Mapping[str, Any],
        upserts: Sequence[tuple[str, str, Mapping[str, Any]]],
        closing: Sequence[str],
        audit: AuditEntry,
    ) -> None:
        """Store version ``meta["version"]`` of ``meta["source"]``: close the rows of the
        removed and changed entries, add rows for the added and changed ones."""
        source, version = meta["source"], int(meta["version"])
        e = screening_entries
        with self._tx("list load") as conn:
            try:
                conn.execute(screening_lists.insert().values(dict(meta)))
            except IntegrityError:
                raise ConflictError(
                    "list", f"{source}@{version}", "another load saved this version first; retry"
                ) from None
            for i in range(0, len(closing), _CHUNK):
                conn.execute(
                    update(e)
                    .where(
                        e.c.source == source,
                        e.c.version_to.is_(None),
                        e.c.entry_id.in_(list(closing[i : i + _CHUNK])),
                    )
                    .values(version_to=version)
                )
            rows = [
                {
                    "source": source,
                    "entry_id": entry_id,
                    "version_from": version,
                    "version_to": None,
                    "digest": digest,
                    "body": dict(body),
                }
                for entry_id, digest, body in upserts
            ]
            for i in range(0, len(rows), _CHUNK):
                conn.execute(e.insert(), rows[i : i + _CHUNK])
            SqlAuditLog.append(conn, audit)

    # -- suppressions ------------------------------------------------------------------------

    def add_suppression(
        self, s: Suppression, note: SealedBox | None, audit: AuditEntry
    ) -> Suppression:
        values = {
            "customer_id": s.customer_id,
            "source": s.source,
            "entry_id": s.entry_id,
            "entry_digest": s.entry_digest,
            "author": s.author,
            "created_at": s.created_at,
            "expires_at": s.expires_at,
            **_sealed("note", note),
        }
        with self._tx("suppression") as conn:
            new_id = conn.execute(
                screening_suppressions.insert().values(values)
            ).inserted_primary_key
            SqlAuditLog.append(conn, audit)
        return replace(s, id=int(new_id[0]) if new_id else None)

    def suppressions(
        self, customer_ids: Sequence[str] | None = None, *, include_revoked: bool = False
    ) -> list[tuple[Suppression, SealedBox | None]]:
        s = screening_suppressions.c
        out: list[tuple[Suppression, SealedBox | None]] = []
        batches = (
            [None]
            if customer_ids is None
            else [customer_ids[i : i + _CHUNK] for i in range(0, len(customer_ids), _CHUNK)]
        )
        for batch in batches:
            q = select(screening_suppressions).order_by(s.id)
            if batch is not None:
                q = q.where(s.customer_id.in_(list(batch)))
            if not include_revoked:
                q = q.where(s.revoked_at.is_(None))
            out.extend(_suppression(r) for r in self._read(q))
        return out

    def get_suppression(self, suppression_id: int) -> tuple[Suppression, SealedBox | None] | None:
        rows = self._read(
            select(screening_suppressions).where(screening_suppressions.c.id == suppression_id)
        )
        return _suppression(rows[0]) if rows else None

    def revoke_suppression(
        self, suppression_id: int, by: str, at: datetime, audit: AuditEntry
    ) -> bool:
        s = screening_suppressions.c
        with self._tx("suppression revoke") as conn:
            done = conn.execute(
                update(screening_suppressions)
                .where(s.id == suppression_id, s.revoked_at.is_(None))
                .values(revoked_at=at, revoked_by=by)
            )
            if done.rowcount != 1:
                return False
            SqlAuditLog.append(conn, audit)
        return True

    # -- hits -------------------------------------------------------------------------------

    def record_hits(self, hits: Sequence[Hit], at: datetime) -> list[Hit]:
        """Store the hits not stored before (by customer, entry and entry content); returns
        the new ones with their ids. A hit already known keeps its status; two processes
        recording the same hit store it once (the unique key decides, not a read first)."""
        h = screening_hits.c
        keys = ["customer_id", "source", "entry_id", "entry_digest"]
        new: list[Hit] = []
        with self._tx("hits") as conn:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            for hit in hits:
                values = {
                    "customer_id": hit.customer_id,
                    "source": hit.source,
                    "entry_id": hit.entry_id,
                    "entry_digest": hit.entry_digest,
                    "list_version": hit.list_version,
                    "score": hit.score,
                    "status": HitStatus.OPEN.value,
                    "match": dict(hit.match),
                    "first_seen_at": at,
                    "updated_at": at,
                }
                stmt = (
                    dialect.insert(screening_hits)
                    .values(values)
                    .on_conflict_do_nothing(index_elements=keys)
                    .returning(h.id)
                )
                key = conn.execute(stmt).scalar()
                if key is not None:
                    new.append(replace(hit, first_seen_at=at, updated_at=at, id=int(key)))
        return new

    def set_hit_task(self, hit_ids: Sequence[int], task_id: str) -> None:
        with self._tx("hit task") as conn:
            conn.execute(
                update(screening_hits)
                .where(screening_hits.c.id.in_(list(hit_ids)))
                .values(task_id=task_id)
            )

    def hits(
        self,
        *,
        status: str | None = None,
        customer_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Hit]:
        h = screening_hits.c
        q = select(screening_hits).order_by(h.updated_at.desc(), h.id.desc())
        if status is not None:
            q = q.where(h.status == status)
        if customer_id is not None:
            q = q.where(h.customer_id == customer_id)
        return [_hit(r) for r in self._read(q.limit(limit).offset(offset))]

    def untasked_hits(self, customer_ids: Sequence[str]) -> list[Hit]:
        """Open hits of these customers that no task was raised for yet."""
        h = screening_hits.c
        out: list[Hit] = []
        for i in range(0, len(customer_ids), _CHUNK):
            q = select(screening_hits).where(
                h.customer_id.in_(list(customer_ids[i : i + _CHUNK])),
                h.status == HitStatus.OPEN.value,
                h.task_id.is_(None),
            )
            out.extend(_hit(r) for r in self._read(q.order_by(h.id)))
        return out

    def get_hit(self, hit_id: int) -> Hit | None:
        rows = self._read(select(screening_hits).where(screening_hits.c.id == hit_id))
        return _hit(rows[0]) if rows else None

    def resolve_hit(
        self, hit: Hit, status: HitStatus, by: str, at: datetime, audit: AuditEntry
    ) -> Hit:
        """Compare-and-set from the status the caller saw."""
        h = screening_hits.c
        with self._tx("hit resolve") as conn:
            done = conn.execute(
                update(screening_hits)
                .where(h.id == hit.id, h.status == hit.status.value)
                .values(status=status.value, resolved_by=by, updated_at=at)
            )
            if done.rowcount != 1:
                raise ConflictError("hit", str(hit.id), "changed meanwhile; reload it")
            SqlAuditLog.append(conn, audit)
        return replace(hit, status=status, resolved_by=by, updated_at=at)

    def close_hits(self, source: str, entry_ids: Sequence[str], at: datetime) -> int:
        """Open hits on entries that left the list or changed: the new content is screened
        afresh, so the old alert is closed rather than left for someone to work."""
        h = screening_hits.c
        n = 0
        with self._tx("hit close") as conn:
            for i in range(0, len(entry_ids), _CHUNK):
                done = conn.execute(
                    update(screening_hits)
                    .where(
                        h.source == source,
                        h.status == HitStatus.OPEN.value,
                        h.entry_id.in_(list(entry_ids[i : i + _CHUNK])),
                    )
                    .values(status=HitStatus.CLOSED.value, updated_at=at, resolved_by="riskloop")
                )
                n += done.rowcount or 0
        return n

    def open_hit_customers(self, customer_ids: Sequence[str]) -> dict[str, set[str]]:
        """customer -> statuses of their open or confirmed hits (for the profile status)."""
        h = screening_hits.c
        out: dict[str, set[str]] = {}
        for i in range(0, len(customer_ids), _CHUNK):
            q = select(h.customer_id, h.status, h.match).where(
                h.customer_id.in_(list(customer_ids[i : i + _CHUNK])),
                h.status.in_([HitStatus.OPEN.value, HitStatus.CONFIRMED.value]),
            )
            for r in self._read(q):
                pep = pep_programs((r.match or {}).get("programs", ()))
                out.setdefault(r.customer_id, set()).add(
                    f"{'pep' if pep else 'sanctions'}:{r.status}"
                )
        return out

    # -- KYC profiles -----------------------------------------------------------------------

    def save_profiles(self, rows: Sequence[tuple[KycProfile, SealedBox | None]]) -> list[str]:
        """Insert each profile, or replace the stored one when this record is newer (an
        older event that arrives late is skipped); one transaction for the batch. Returns
        the customers whose profile was written."""
        k = kyc_profiles.c
        latest: dict[str, tuple[KycProfile, SealedBox | None]] = {}
        for profile, box in rows:  # of one customer's records in a batch, the newest
            seen = latest.get(profile.customer_id)
            if seen is None or seen[0].occurred_at <= profile.occurred_at:
                latest[profile.customer_id] = (profile, box)
        written: list[str] = []
        with self._tx("kyc profiles") as conn:
            stored = {
                r.customer_id: (r.occurred_at, r.version)
                for r in conn.execute(
                    select(k.customer_id, k.occurred_at, k.version).where(
                        k.customer_id.in_(list(latest))
                    )
                )
            }
            inserts = []
            for customer, (profile, box) in latest.items():
                values = _profile_values(profile, box)
                before = stored.get(customer)
                if before is None:
                    inserts.append(values)
                elif before[0] <= profile.occurred_at:
                    values["version"] = before[1] + 1
                    conn.execute(
                        update(kyc_profiles)
                        .where(and_(k.customer_id == customer, k.version == before[1]))
                        .values(values)
                    )
                else:
                    continue
                written.append(customer)
            if inserts:
                conn.execute(kyc_profiles.insert(), inserts)
        return written

    def save_profile(self, profile: KycProfile, subject: SealedBox | None) -> bool:
        """One profile (see :meth:`save_profiles`); False if a later record is stored."""
        return bool(self.save_profiles([(profile, subject)]))

    def profile(self, customer_id: str) -> tuple[KycProfile, SealedBox | None] | None:
        rows = self._read(select(kyc_profiles).where(kyc_profiles.c.customer_id == customer_id))
        if not rows:
            return None
        r = rows[0]
        return _profile(r), _box(r.subject_ciphertext, r.subject_wrapped_key, r.subject_key_version)

    def profiles_of(self, customer_ids: Sequence[str]) -> list[tuple[KycProfile, SealedBox | None]]:
        k = kyc_profiles.c
        out: list[tuple[KycProfile, SealedBox | None]] = []
        for i in range(0, len(customer_ids), _CHUNK):
            q = select(kyc_profiles).where(k.customer_id.in_(list(customer_ids[i : i + _CHUNK])))
            out.extend(
                (
                    _profile(r),
                    _box(r.subject_ciphertext, r.subject_wrapped_key, r.subject_key_version),
                )
                for r in self._read(q.order_by(k.id))
            )
        return out

    def profiles(
        self, *, after_id: int = 0, limit: int = 1000
    ) -> list[tuple[KycProfile, SealedBox | None]]:
        k = kyc_profiles.c
        q = select(kyc_profiles).where(k.id > after_id).order_by(k.id).limit(limit)
        return [
            (_profile(r), _box(r.subject_ciphertext, r.subject_wrapped_key, r.subject_key_version))
            for r in self._read(q)
        ]

    def search_profiles(
        self,
        *,
        sanctions_status: str | None = None,
        due_before: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[KycProfile]:
        k = kyc_profiles.c
        q = select(kyc_profiles).order_by(k.id)
        if sanctions_status is not None:
            q = q.where(k.sanctions_status == sanctions_status)
        if due_before is not None:
            q = q.where(k.next_review_at.is_not(None), k.next_review_at <= due_before)
        return [_profile(r) for r in self._read(q.limit(limit).offset(offset))]

    def mark_screened(
        self,
        rows: Sequence[tuple[str, SanctionsStatus, SanctionsStatus]],
        screened: Mapping[str, int] | None,
        at: datetime,
    ) -> None:
        """(customer, sanctions status, PEP status), after a screen against the list
        versions ``screened`` (None: a status change only, e.g. an analyst's verdict).
        One statement executed for every row (a re-screen marks a thousand at a time)."""
        if not rows:
            return
        k = kyc_profiles.c
        extra: dict[str, Any] = (
            {} if screened is None else {"screened": dict(screened), "screened_at": at}
        )
        stmt = (
            update(kyc_profiles)
            .where(k.customer_id == bindparam("b_customer"))
            .values(
                sanctions_status=bindparam("b_sanctions"),
                pep_status=bindparam("b_pep"),
                version=k.version + 1,
                **extra,
            )
        )
        params = [{"b_customer": c, "b_sanctions": s.value, "b_pep": p.value} for c, s, p in rows]
        with self._tx("kyc screened") as conn:
            conn.execute(stmt, params)

    def profile_counts(self) -> dict[str, int]:
        k = kyc_profiles.c
        q = select(k.sanctions_status, func.count()).group_by(k.sanctions_status)
        return {r[0]: int(r[1]) for r in self._read(q)}

    # -- the projection's cursor -------------------------------------------------------------

    def cursor(self, name: str) -> str:
        rows = self._read(select(cursors.c.position).where(cursors.c.name == name))
        return str(rows[0][0]) if rows else ""

    def move_cursor(self, name: str, position: str, at: datetime) -> None:
        with self._tx("cursor") as conn:
            done = conn.execute(
                update(cursors)
                .where(cursors.c.name == name)
                .values(position=position, updated_at=at)
            )
            if done.rowcount == 0:
                conn.execute(cursors.insert().values(name=name, position=position, updated_at=at))
