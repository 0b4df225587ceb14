"""Users, API keys, sessions and failed logins in SQL. Every change to a user or a key is
committed together with its audit entry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, func, insert, or_, select, update

from riskloop.adapters.sql.catalog import SqlAuditLog
from riskloop.adapters.sql.schema import api_keys, auth_failures, sessions, users
from riskloop.domain.events import SealedBox
from riskloop.errors import ConflictError
from riskloop.ledger.audit import AuditEntry
from riskloop.service.access import ApiKey, SessionRow, User


def _user(row: Any) -> User:
    return User(
        username=row.username,
        role=row.role,
        password_hash=row.password_hash,
        totp=SealedBox(row.totp_ciphertext, row.totp_wrapped_key, row.totp_key_version),
        totp_last_step=row.totp_last_step,
        created_at=row.created_at,
        created_by=row.created_by,
        disabled_at=row.disabled_at,
    )


def _key(row: Any) -> ApiKey:
    return ApiKey(
        key_id=row.key_id,
        name=row.name,
        secret_hash=row.secret_hash,
        scopes=tuple(row.scopes),
        created_at=row.created_at,
        created_by=row.created_by,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        rotated_to=row.rotated_to,
        last_used_at=row.last_used_at,
    )


class SqlAccessStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- users -------------------------------------------------------------------------------

    def add_user(self, user: User, audit: AuditEntry) -> None:
        with self.engine.begin() as conn:
            taken = conn.execute(
                select(users.c.id).where(users.c.username == user.username)
            ).first()
            if taken is not None:
                raise ConflictError("user", user.username, "already exists")
            conn.execute(
                insert(users).values(
                    username=user.username,
                    role=user.role,
                    password_hash=user.password_hash,
                    totp_ciphertext=user.totp.ciphertext,
                    totp_wrapped_key=user.totp.wrapped_key,
                    totp_key_version=user.totp.key_version,
                    totp_last_step=None,
                    created_at=user.created_at,
                    created_by=user.created_by,
                    disabled_at=None,
                )
            )
            SqlAuditLog.append(conn, audit)

    def user(self, username: str) -> User | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.username == username)).first()
        return None if row is None else _user(row)

    def users(self) -> list[User]:
        with self.engine.connect() as conn:
            return [_user(r) for r in conn.execute(select(users).order_by(users.c.username))]

    def update_user(self, username: str, values: dict[str, Any], audit: AuditEntry) -> None:
        """Change a user and end their sessions: a new role or a disabled account applies at
        once, not when a session expires."""
        with self.engine.begin() as conn:
            conn.execute(update(users).where(users.c.username == username).values(**values))
            conn.execute(delete(sessions).where(sessions.c.username == username))
            SqlAuditLog.append(conn, audit)

    def use_totp_step(self, username: str, step: int) -> bool:
        """Accept a TOTP step once: a conditional update, so two processes given the same
        code at once cannot both accept it."""
        stmt = (
            update(users)
            .where(
                users.c.username == username,
                or_(users.c.totp_last_step.is_(None), users.c.totp_last_step < step),
            )
            .values(totp_last_step=step)
        )
        with self.engine.begin() as conn:
            return conn.execute(stmt).rowcount == 1

    # -- API keys ----------------------------------------------------------------------------

    def add_key(
        self, key: ApiKey, audit: AuditEntry, *, replaces: tuple[str, datetime] | None = None
    ) -> None:
        """Store a key; ``replaces`` = (old key id, when it stops working) for a rotation."""
        with self.engine.begin() as conn:
            conn.execute(
                insert(api_keys).values(
                    key_id=key.key_id,
                    name=key.name,
                    secret_hash=key.secret_hash,
                    scopes=list(key.scopes),
                    created_at=key.created_at,
                    created_by=key.created_by,
                    expires_at=key.expires_at,
                    revoked_at=None,
                    rotated_to=None,
                    last_used_at=None,
                )
            )
            if replaces is not None:
                old_id, until = replaces
                done = conn.execute(
                    update(api_keys)
                    .where(api_keys.c.key_id == old_id, api_keys.c.rotated_to.is_(None))
                    .values(
                        rotated_to=key.key_id,
                        expires_at=func.coalesce(
                            func.min(api_keys.c.expires_at, until)
                            if conn.dialect.name == "sqlite"
                            else func.least(api_keys.c.expires_at, until),
                            until,
                        ),
                    )
                )
                if done.rowcount != 1:
                    raise ConflictError("api key", old_id, "already rotated")
            SqlAuditLog.append(conn, audit)

    def key(self, key_id: str) -> ApiKey | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(api_keys).where(api_keys.c.key_id == key_id)).first()
        return None if row is None else _key(row)

    def keys(self) -> list[ApiKey]:
        with self.engine.connect() as conn:
            q = select(api_keys).order_by(api_keys.c.created_at, api_keys.c.key_id)
            return [_key(r) for r in conn.execute(q)]

    def revoke_key(self, key_id: str, at: datetime, audit: AuditEntry) -> bool:
        with self.engine.begin() as conn:
            done = conn.execute(
                update(api_keys)
                .where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=at)
            )
            if done.rowcount != 1:
                return False
            SqlAuditLog.append(conn, audit)
            return True

    def touch_key(self, key_id: str, at: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(api_keys).where(api_keys.c.key_id == key_id).values(last_used_at=at)
            )

    # -- sessions and failed logins ----------------------------------------------------------

    def add_session(self, row: SessionRow) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(sessions).values(
                    session_hash=row.session_hash,
                    username=row.username,
                    csrf_token=row.csrf_token,
                    mfa=row.mfa,
                    created_at=row.created_at,
                    expires_at=row.expires_at,
                )
            )

    def session(self, session_hash: str) -> SessionRow | None:
        with self.engine.connect() as conn:
            r = conn.execute(
                select(sessions).where(sessions.c.session_hash == session_hash)
            ).first()
        if r is None:
            return None
        return SessionRow(
            r.session_hash, r.username, r.csrf_token, r.mfa, r.created_at, r.expires_at
        )

    def drop_session(self, session_hash: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(sessions).where(sessions.c.session_hash == session_hash))

    def add_failure(self, username: str, client: str, at: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(auth_failures).values(username=username[:64], client=client[:64], at=at)
            )

    def failures_since(
        self, since: datetime, *, username: str | None = None, client: str | None = None
    ) -> tuple[int, datetime | None]:
        """How many failed logins for a username (or from a client) since ``since``, and
        the oldest of them."""
        column, value = (
            (auth_failures.c.username, username)
            if username is not None
            else (auth_failures.c.client, client or "")
        )
        q = select(func.count(), func.min(auth_failures.c.at)).where(
            column == value[:64], auth_failures.c.at >= since
        )
        with self.engine.connect() as conn:
            n, oldest = conn.execute(q).one()
        return int(n), oldest

    def clear_failures(self, username: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(auth_failures).where(auth_failures.c.username == username[:64]))
