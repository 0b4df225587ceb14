"""Rules, policies and lists in SQL, each change committed together with its audit entry
(hash-chained: the chain is extended under a table lock so two writers cannot fork it)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select, text, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from riskloop.access.context import acting_as
from riskloop.adapters.sql.schema import audit_log, list_entries, lists, policies, rules
from riskloop.credit.terms import table_from_dict
from riskloop.errors import ConflictError, NotFound, StorageError
from riskloop.ledger.audit import GENESIS, AuditEntry, chain_hash
from riskloop.policy.model import Mode, Policy, PolicyStatus, Thresholds
from riskloop.rules.lists import ListDef, ListEntry, ListKind, ListType
from riskloop.rules.model import Action, Rule, Status


def _rule(body: dict[str, Any]) -> Rule:
    return Rule(
        id=body["id"],
        expression=body["expression"],
        reason=body["reason"],
        action=Action(body["action"]),
        description=body["description"],
        owner=body["owner"],
        priority=body["priority"],
        status=Status(body["status"]),
        event_types=tuple(body["event_types"]),
        version=body["version"],
        author=body["author"],
        note=body["note"],
        saved_at=datetime.fromisoformat(body["saved_at"]) if body["saved_at"] else None,
    )


def _policy(body: dict[str, Any], status: str) -> Policy:
    return Policy(
        id=body["id"],
        event_types=tuple(body["event_types"]),
        rules=tuple(body["rules"]) if body["rules"] is not None else None,
        thresholds=Thresholds(**body["thresholds"]),
        mode=Mode(body["mode"]),
        allow_overrides_block=body["allow_overrides_block"],
        step_up_method=body.get("step_up_method"),  # versions saved before it: by event type
        credit=table_from_dict(body["credit"]) if body.get("credit") else None,
        description=body["description"],
        version=body["version"],
        status=PolicyStatus(status),
        author=body["author"],
        note=body["note"],
        saved_at=datetime.fromisoformat(body["saved_at"]) if body["saved_at"] else None,
    )


def _list(body: dict[str, Any]) -> ListDef:
    return ListDef(
        name=body["name"],
        kind=ListKind(body["kind"]),
        type=ListType(body["type"]),
        fields=tuple(body["fields"]),
        description=body["description"],
        author=body["author"],
    )


def _audit_row(row: Any) -> AuditEntry:
    return AuditEntry(
        actor=row.actor,
        action=row.action,
        kind=row.kind,
        key=row.key,
        detail=row.detail,
        at=row.at,
        seq=row.seq,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


class SqlAuditLog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @staticmethod
    def append(conn: Connection, entry: AuditEntry) -> AuditEntry:
        if conn.dialect.name == "postgresql":
            conn.execute(text("LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE"))
        prev = conn.execute(
            select(audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)
        ).scalar()
        prev = prev or GENESIS
        who = acting_as()
        if who is not None and who != entry.actor:  # a key acting for a named person
            entry = replace(entry, detail={**entry.detail, "authenticated_as": who})
        done = replace(entry, prev_hash=prev, hash=chain_hash(entry, prev))
        seq = conn.execute(
            audit_log.insert().returning(audit_log.c.seq),
            {
                "at": done.at,
                "actor": done.actor[:100],
                "action": done.action,
                "kind": done.kind,
                "key": done.key[:200],
                "detail": done.detail,
                "prev_hash": done.prev_hash,
                "hash": done.hash,
            },
        ).scalar_one()
        return replace(done, seq=seq)

    def entries(self, *, after: int = 0, limit: int = 1000) -> list[AuditEntry]:
        q = select(audit_log).where(audit_log.c.seq > after).order_by(audit_log.c.seq).limit(limit)
        with self.engine.connect() as conn:
            return [_audit_row(r) for r in conn.execute(q)]

    def last_seq(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.max(audit_log.c.seq))).scalar() or 0)

    def iterate(self) -> Iterator[AuditEntry]:
        after = 0
        while batch := self.entries(after=after):
            yield from batch
            after = batch[-1].seq or after


class SqlCatalogStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._audit = SqlAuditLog(engine)

    def audit(self) -> SqlAuditLog:
        return self._audit

    def _read(self, q: Any) -> list[Any]:
        try:
            with self.engine.connect() as conn:
                return list(conn.execute(q))
        except SQLAlchemyError as exc:
            raise StorageError(f"catalogue read failed: {type(exc).__name__}") from exc

    # -- rules --------------------------------------------------------------------------------

    def rules(self) -> list[Rule]:
        latest = (
            select(rules.c.rule_id, func.max(rules.c.version).label("v"))
            .group_by(rules.c.rule_id)
            .subquery()
        )
        q = (
            select(rules.c.body)
            .join(latest, (rules.c.rule_id == latest.c.rule_id) & (rules.c.version == latest.c.v))
            .order_by(rules.c.rule_id)
        )
        return [_rule(b) for (b,) in self._read(q)]

    def rule_history(self, rule_id: str) -> list[Rule]:
        q = select(rules.c.body).where(rules.c.rule_id == rule_id).order_by(rules.c.version)
        return [_rule(b) for (b,) in self._read(q)]

    def _save_version(
        self, table: Any, key: str, kind: str, obj: Rule | Policy, audit: AuditEntry
    ) -> None:
        """Insert one version and its audit entry; a version number already taken (another
        writer saved first) is a conflict, not an overwrite."""
        assert obj.saved_at is not None
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    table.insert(),
                    {
                        key: obj.id,
                        "version": obj.version,
                        "status": obj.status.value,
                        "saved_at": obj.saved_at,
                        "body": obj.as_dict(),
                    },
                )
                SqlAuditLog.append(conn, audit)
        except IntegrityError:
            raise ConflictError(
                kind, obj.id, f"version {obj.version} was saved by someone else; reload"
            ) from None
        except SQLAlchemyError as exc:
            raise StorageError(f"{kind} write failed: {type(exc).__name__}") from exc

    def save_rule(self, rule: Rule, audit: AuditEntry) -> Rule:
        self._save_version(rules, "rule_id", "rule", rule, audit)
        return rule

    # -- policies -----------------------------------------------------------------------------

    def policies(self) -> list[Policy]:
        q = select(policies.c.body, policies.c.status).order_by(
            policies.c.policy_id, policies.c.version
        )
        return [_policy(b, s) for b, s in self._read(q)]

    def save_policy(self, policy: Policy, audit: AuditEntry) -> Policy:
        self._save_version(policies, "policy_id", "policy", policy, audit)
        return policy

    def set_policy_status(
        self, changes: Sequence[tuple[str, int, PolicyStatus]], audit: AuditEntry
    ) -> None:
        try:
            with self.engine.begin() as conn:
                for policy_id, version, status in changes:
                    conn.execute(
                        update(policies)
                        .where(
                            (policies.c.policy_id == policy_id) & (policies.c.version == version)
                        )
                        .values(status=status.value)
                    )
                SqlAuditLog.append(conn, audit)
        except SQLAlchemyError as exc:
            raise StorageError(f"policy write failed: {type(exc).__name__}") from exc

    # -- lists --------------------------------------------------------------------------------

    def lists(self) -> list[ListDef]:
        return [_list(b) for (b,) in self._read(select(lists.c.body).order_by(lists.c.name))]

    def save_list(self, definition: ListDef, audit: AuditEntry) -> None:
        try:
            with self.engine.begin() as conn:
                exists = conn.execute(
                    select(lists.c.name).where(lists.c.name == definition.name)
                ).first()
                if exists:
                    conn.execute(
                        update(lists)
                        .where(lists.c.name == definition.name)
                        .values(body=definition.as_dict())
                    )
                else:
                    conn.execute(
                        lists.insert(),
                        {
                            "name": definition.name,
                            "created_at": audit.at,
                            "body": definition.as_dict(),
                        },
                    )
                SqlAuditLog.append(conn, audit)
        except SQLAlchemyError as exc:
            raise StorageError(f"list write failed: {type(exc).__name__}") from exc

    def delete_list(self, name: str, audit: AuditEntry) -> None:
        try:
            with self.engine.begin() as conn:
                gone = conn.execute(delete(lists).where(lists.c.name == name)).rowcount
                if not gone:
                    raise NotFound("list", name)
                conn.execute(delete(list_entries).where(list_entries.c.list_name == name))
                SqlAuditLog.append(conn, audit)
        except SQLAlchemyError as exc:
            raise StorageError(f"list write failed: {type(exc).__name__}") from exc

    def entries(self, name: str | None = None) -> list[ListEntry]:
        q = select(list_entries).order_by(list_entries.c.list_name, list_entries.c.value)
        if name is not None:
            q = q.where(list_entries.c.list_name == name)
        return [
            ListEntry(r.list_name, r.value, r.reason, r.author, r.added_at, r.expires_at)
            for r in self._read(q)
        ]

    def add_entries(self, entries: Sequence[ListEntry], audit: AuditEntry) -> int:
        if not entries:
            return 0
        rows = [
            {
                "list_name": e.list_name,
                "value": e.value,
                "reason": e.reason,
                "author": e.author[:100],
                "added_at": e.added_at,
                "expires_at": e.expires_at,
            }
            for e in entries
        ]
        try:
            with self.engine.begin() as conn:
                # Replace: the newest reason and expiry of an entry win.
                for name in {e.list_name for e in entries}:
                    values = [e.value for e in entries if e.list_name == name]
                    for i in range(0, len(values), 500):
                        conn.execute(
                            delete(list_entries).where(
                                (list_entries.c.list_name == name)
                                & list_entries.c.value.in_(values[i : i + 500])
                            )
                        )
                for i in range(0, len(rows), 1000):
                    conn.execute(list_entries.insert(), rows[i : i + 1000])
                SqlAuditLog.append(conn, audit)
        except SQLAlchemyError as exc:
            raise StorageError(f"list entry write failed: {type(exc).__name__}") from exc
        return len(rows)

    def remove_entries(self, name: str, values: Sequence[str], audit: AuditEntry) -> int:
        try:
            with self.engine.begin() as conn:
                n = conn.execute(
                    delete(list_entries).where(
                        (list_entries.c.list_name == name) & list_entries.c.value.in_(values)
                    )
                ).rowcount
                SqlAuditLog.append(conn, audit)
        except SQLAlchemyError as exc:
            raise StorageError(f"list entry write failed: {type(exc).__name__}") from exc
        return int(n)
