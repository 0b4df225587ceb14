"""The model registry's versions and alias history in SQL, each change committed with its
audit entry. An alias change is checked against the alias's current version inside the
transaction (under the audit table lock on PostgreSQL, the write lock on SQLite), so two
people promoting at once cannot both win."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from riskloop.adapters.sql.catalog import SqlAuditLog
from riskloop.adapters.sql.schema import model_aliases, model_versions
from riskloop.errors import ConflictError, StorageError
from riskloop.ledger.audit import AuditEntry
from riskloop.training.registry import AliasChange, ModelVersion


def _change(row: Any) -> AliasChange:
    return AliasChange(
        row.name, row.alias, row.version, row.previous, row.at, row.actor, row.reason, row.seq
    )


class SqlModelStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _read(self, q: Any) -> list[Any]:
        try:
            with self.engine.connect() as conn:
                return list(conn.execute(q))
        except SQLAlchemyError as exc:
            raise StorageError(f"registry read failed: {type(exc).__name__}") from exc

    def next_version(self, name: str) -> int:
        q = select(func.max(model_versions.c.version)).where(model_versions.c.name == name)
        return int(self._read(q)[0][0] or 0) + 1

    def add_version(self, version: ModelVersion, audit: AuditEntry) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    model_versions.insert(),
                    {
                        "name": version.name,
                        "version": version.version,
                        "created_at": version.created_at,
                        "body": version.as_dict(),
                    },
                )
                SqlAuditLog.append(conn, audit)
        except IntegrityError:
            raise ConflictError("model", version.ref, "version already registered") from None
        except SQLAlchemyError as exc:
            raise StorageError(f"registry write failed: {type(exc).__name__}") from exc

    def versions(self, name: str | None = None) -> list[ModelVersion]:
        q = select(model_versions.c.body).order_by(model_versions.c.name, model_versions.c.version)
        if name is not None:
            q = q.where(model_versions.c.name == name)
        return [ModelVersion.from_dict(b) for (b,) in self._read(q)]

    def alias_history(self, name: str | None = None) -> list[AliasChange]:
        q = select(model_aliases).order_by(model_aliases.c.seq)
        if name is not None:
            q = q.where(model_aliases.c.name == name)
        return [_change(r) for r in self._read(q)]

    def change_alias(self, change: AliasChange, audit: AuditEntry) -> AliasChange:
        try:
            with self.engine.begin() as conn:
                SqlAuditLog.append(conn, audit)  # takes the lock that serialises changes
                current = conn.execute(
                    select(model_aliases.c.version)
                    .where(
                        (model_aliases.c.name == change.name)
                        & (model_aliases.c.alias == change.alias)
                    )
                    .order_by(model_aliases.c.seq.desc())
                    .limit(1)
                ).scalar()
                if current != change.previous:
                    raise ConflictError(
                        "model", f"{change.name}:{change.alias}", "changed meanwhile; reload"
                    )
                seq = conn.execute(
                    model_aliases.insert().returning(model_aliases.c.seq),
                    {
                        "name": change.name,
                        "alias": change.alias,
                        "version": change.version,
                        "previous": change.previous,
                        "at": change.at,
                        "actor": change.actor[:100],
                        "reason": change.reason,
                    },
                ).scalar_one()
        except SQLAlchemyError as exc:
            raise StorageError(f"registry write failed: {type(exc).__name__}") from exc
        return AliasChange(
            change.name,
            change.alias,
            change.version,
            change.previous,
            change.at,
            change.actor,
            change.reason,
            seq,
        )
