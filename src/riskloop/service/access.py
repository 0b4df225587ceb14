"""Users, sessions and API keys: who may use riskloop, and proof of who did what.

- Users log in to the dashboard with a password (argon2id) *and* a TOTP code; every session
  is therefore multi-factor, which the privileged permissions require. A code is accepted
  once. Five failed logins for a username, or twenty from one client address, within 15
  minutes lock it for the rest of the window (counted in the database, so every process and
  host agrees).
- Services use API keys: scoped to permissions, optionally expiring, rotatable with a grace
  period during which both keys work, revocable. Only a digest of a key is stored.
- Every change to a user or key is appended to the audit chain in the same transaction.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from riskloop.access import PERMISSIONS, ROLES, Principal, permissions_for, unknown_scopes
from riskloop.access import credentials as cred
from riskloop.domain.events import SealedBox
from riskloop.errors import AuthFailed, FieldError, InvalidInput, NotFound, RateLimited
from riskloop.ledger.audit import AuditEntry
from riskloop.vault import Vault

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
_KEY_CACHE_S = 5.0  # a revoked key stops working within this many seconds in every process
LOCK_AFTER = 5  # failed logins for one username within the window
CLIENT_LOCK_AFTER = 20  # from one client address, whatever usernames it tries
LOCK_WINDOW = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class User:
    username: str
    role: str
    password_hash: str
    totp: SealedBox
    totp_last_step: int | None
    created_at: datetime
    created_by: str
    disabled_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "role": self.role,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "disabled_at": self.disabled_at.isoformat() if self.disabled_at else None,
        }


@dataclass(frozen=True, slots=True)
class ApiKey:
    key_id: str
    name: str
    secret_hash: str
    scopes: tuple[str, ...]
    created_at: datetime
    created_by: str
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    rotated_to: str | None = None
    last_used_at: datetime | None = None

    def usable(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)

    def permissions(self) -> frozenset[str]:
        return frozenset(PERMISSIONS) if "*" in self.scopes else frozenset(self.scopes)

    def as_dict(self) -> dict[str, Any]:
        def iso(t: datetime | None) -> str | None:
            return t.isoformat() if t else None

        return {
            "key_id": self.key_id,
            "name": self.name,
            "scopes": list(self.scopes),
            "created_at": iso(self.created_at),
            "created_by": self.created_by,
            "expires_at": iso(self.expires_at),
            "revoked_at": iso(self.revoked_at),
            "rotated_to": self.rotated_to,
            "last_used_at": iso(self.last_used_at),
        }


@dataclass(frozen=True, slots=True)
class SessionRow:
    session_hash: str
    username: str
    csrf_token: str
    mfa: bool
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class LoginResult:
    session_token: str  # the cookie value; only its digest is stored
    csrf_token: str
    principal: Principal
    expires_at: datetime


class AccessStore(Protocol):
    def add_user(self, user: User, audit: AuditEntry) -> None: ...
    def user(self, username: str) -> User | None: ...
    def users(self) -> list[User]: ...
    def update_user(self, username: str, values: dict[str, Any], audit: AuditEntry) -> None: ...
    def use_totp_step(self, username: str, step: int) -> bool: ...
    def add_key(
        self, key: ApiKey, audit: AuditEntry, *, replaces: tuple[str, datetime] | None = None
    ) -> None: ...
    def key(self, key_id: str) -> ApiKey | None: ...
    def keys(self) -> list[ApiKey]: ...
    def revoke_key(self, key_id: str, at: datetime, audit: AuditEntry) -> bool: ...
    def touch_key(self, key_id: str, at: datetime) -> None: ...
    def add_session(self, row: SessionRow) -> None: ...
    def session(self, session_hash: str) -> SessionRow | None: ...
    def drop_session(self, session_hash: str) -> None: ...
    def add_failure(self, username: str, client: str, at: datetime) -> None: ...
    def failures_since(
        self, since: datetime, *, username: str | None = None, client: str | None = None
    ) -> tuple[int, datetime | None]: ...
    def clear_failures(self, username: str) -> None: ...


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise InvalidInput([FieldError("role", f"unknown role; one of {', '.join(ROLES)}")])


def _check_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    given = tuple(dict.fromkeys(s.strip() for s in scopes if s.strip()))
    if not given:
        raise InvalidInput([FieldError("scopes", "at least one scope is required")])
    bad = unknown_scopes(s for s in given if s != "*")
    if bad:
        raise InvalidInput([FieldError("scopes", f"unknown scope(s): {', '.join(bad)}")])
    return given


class AccessService:
    def __init__(
        self,
        store: AccessStore,
        vault: Vault,
        *,
        session_ttl: timedelta = timedelta(hours=8),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.vault = vault
        self.session_ttl = session_ttl
        self.clock = clock
        self._keys: dict[str, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()

    def _audit(self, actor: str, action: str, kind: str, key: str, **detail: Any) -> AuditEntry:
        return AuditEntry(actor, action, kind, key, detail, self.clock())

    # -- users -------------------------------------------------------------------------------

    def add_user(self, username: str, role: str, password: str, *, actor: str) -> str:
        """Create a user; returns the TOTP secret to enrol in an authenticator app (shown
        once: it is stored sealed)."""
        errors = []
        if not _USERNAME.match(username):
            errors.append(FieldError("username", "2-64 of a-z 0-9 . _ -, starting alphanumeric"))
        if role not in ROLES:
            errors.append(FieldError("role", f"unknown role; one of {', '.join(ROLES)}"))
        if len(password) < cred.MIN_PASSWORD:
            errors.append(FieldError("password", f"at least {cred.MIN_PASSWORD} characters"))
        if errors:
            raise InvalidInput(errors)
        secret = cred.new_totp_secret()
        user = User(
            username=username,
            role=role,
            password_hash=cred.hash_password(password),
            totp=self.vault.seal_note(secret, context=f"totp/{username}"),
            totp_last_step=None,
            created_at=self.clock(),
            created_by=actor,
        )
        self.store.add_user(user, self._audit(actor, "user.add", "user", username, role=role))
        return secret

    def users(self) -> list[User]:
        return self.store.users()

    def _existing(self, username: str) -> User:
        user = self.store.user(username)
        if user is None:
            raise NotFound("user", username)
        return user

    def set_role(self, username: str, role: str, *, actor: str) -> None:
        _check_role(role)
        before = self._existing(username)
        audit = self._audit(actor, "user.role", "user", username, before=before.role, after=role)
        self.store.update_user(username, {"role": role}, audit)

    def disable(self, username: str, *, actor: str) -> None:
        self._existing(username)
        audit = self._audit(actor, "user.disable", "user", username)
        self.store.update_user(username, {"disabled_at": self.clock()}, audit)

    def set_password(self, username: str, password: str, *, actor: str) -> None:
        if len(password) < cred.MIN_PASSWORD:
            raise InvalidInput([FieldError("password", f"at least {cred.MIN_PASSWORD} characters")])
        self._existing(username)
        audit = self._audit(actor, "user.password", "user", username)
        self.store.update_user(username, {"password_hash": cred.hash_password(password)}, audit)

    # -- dashboard sessions ------------------------------------------------------------------

    def login(self, username: str, password: str, code: str, *, client: str) -> LoginResult:
        now = self.clock()
        since = now - LOCK_WINDOW
        for (failures, oldest), limit in (
            (self.store.failures_since(since, username=username), LOCK_AFTER),
            (self.store.failures_since(since, client=client), CLIENT_LOCK_AFTER),
        ):
            if failures >= limit and oldest is not None:
                wait = int((oldest + LOCK_WINDOW - now).total_seconds()) + 1
                raise RateLimited(max(wait, 1))
        user = self.store.user(username)
        if user is None:
            cred.burn_password_time(password)
        ok = user is not None and user.disabled_at is None
        ok = ok and user is not None and cred.password_ok(user.password_hash, password)
        step = None
        if ok and user is not None:
            secret = self.vault.open_note(user.totp, context=f"totp/{username}")
            step = cred.totp_step(secret, code.strip())
            ok = step is not None and self.store.use_totp_step(username, step)
        if not ok or user is None:
            self.store.add_failure(username, client, now)
            raise AuthFailed("invalid username, password or code")
        self.store.clear_failures(username)
        token, csrf = cred.new_token(), cred.new_token()
        expires = now + self.session_ttl
        self.store.add_session(SessionRow(cred.digest(token), username, csrf, True, now, expires))
        return LoginResult(token, csrf, self._user_principal(user, mfa=True), expires)

    @staticmethod
    def _user_principal(user: User, *, mfa: bool) -> Principal:
        return Principal(user.username, "user", user.role, permissions_for(user.role), mfa=mfa)

    def session_principal(self, token: str) -> tuple[Principal, str] | None:
        """The principal and CSRF token of a live session, or None."""
        row = self.store.session(cred.digest(token))
        if row is None or row.expires_at <= self.clock():
            return None
        user = self.store.user(row.username)
        if user is None or user.disabled_at is not None:
            return None
        return self._user_principal(user, mfa=row.mfa), row.csrf_token

    def logout(self, token: str) -> None:
        self.store.drop_session(cred.digest(token))

    # -- API keys ----------------------------------------------------------------------------

    def create_key(
        self,
        name: str,
        scopes: Iterable[str],
        *,
        actor: str,
        expires_days: int | None = None,
    ) -> tuple[ApiKey, str]:
        """A new key; returns it and its secret (shown once: only a digest is stored)."""
        errors = []
        if not name.strip() or len(name) > 100:
            errors.append(FieldError("name", "1-100 characters"))
        if expires_days is not None and not 1 <= expires_days <= 3650:
            errors.append(FieldError("expires_days", "between 1 and 3650"))
        if errors:
            raise InvalidInput(errors)
        given = _check_scopes(scopes)
        key, secret = self._new_key(name.strip(), given, actor, expires_days)
        audit = self._audit(
            actor,
            "apikey.create",
            "api_key",
            key.key_id,
            name=key.name,
            scopes=list(given),
            expires_at=_iso(key.expires_at),
        )
        self.store.add_key(key, audit)
        return key, secret

    def _new_key(
        self, name: str, scopes: tuple[str, ...], actor: str, expires_days: int | None
    ) -> tuple[ApiKey, str]:
        key_id, secret = cred.new_api_key()
        now = self.clock()
        expires = now + timedelta(days=expires_days) if expires_days else None
        key = ApiKey(key_id, name, cred.digest(secret), scopes, now, actor, expires)
        return key, secret

    def rotate_key(
        self, key_id: str, *, actor: str, grace_hours: float = 24.0
    ) -> tuple[ApiKey, str]:
        """A new key with the same name and scopes; the old one keeps working for
        ``grace_hours`` so a deployment can switch without downtime."""
        if not 0 <= grace_hours <= 24 * 30:
            raise InvalidInput([FieldError("grace_hours", "between 0 and 720")])
        old = self.store.key(key_id)
        if old is None or not old.usable(self.clock()):
            raise NotFound("api key", key_id)
        days = None
        if old.expires_at is not None:  # the new key keeps the old one's lifetime
            days = max(1, (old.expires_at - old.created_at).days)
        key, secret = self._new_key(old.name, old.scopes, actor, days)
        until = self.clock() + timedelta(hours=grace_hours)
        audit = self._audit(
            actor,
            "apikey.rotate",
            "api_key",
            key_id,
            new_key=key.key_id,
            old_works_until=until.isoformat(),
        )
        self.store.add_key(key, audit, replaces=(key_id, until))
        self._forget(key_id)
        return key, secret

    def revoke_key(self, key_id: str, *, actor: str) -> None:
        audit = self._audit(actor, "apikey.revoke", "api_key", key_id)
        if not self.store.revoke_key(key_id, self.clock(), audit):
            raise NotFound("api key", key_id)
        self._forget(key_id)

    def keys(self) -> list[ApiKey]:
        return self.store.keys()

    def _forget(self, key_id: str) -> None:
        with self._lock:
            for token, (_, p) in list(self._keys.items()):
                if p is not None and p.name.startswith(f"key:{key_id}/"):
                    del self._keys[token]

    def authenticate_key(self, secret: str) -> Principal | None:
        """The principal an API key acts as, or None. Looked up at most every few seconds
        per key and process, so checking a key costs a dict lookup on the hot path."""
        digest = cred.digest(secret)
        now_m = time.monotonic()
        hit = self.cached_key(digest, now_m)
        if hit is not None:
            return hit[0]
        principal = self._lookup_key(secret, digest)
        with self._lock:
            if len(self._keys) > 10_000:  # bounded: a flood of bad keys cannot grow it
                self._keys.clear()
            self._keys[digest] = (now_m, principal)
        return principal

    def cached_key(self, digest: str, now_m: float | None = None) -> tuple[Principal | None] | None:
        """The cached answer for a key's digest while fresh (a 1-tuple: the principal or
        None for a bad key), else None. No I/O: the HTTP layer calls it on the event loop."""
        with self._lock:
            hit = self._keys.get(digest)
        now = time.monotonic() if now_m is None else now_m
        if hit is not None and now - hit[0] < _KEY_CACHE_S:
            return (hit[1],)
        return None

    def _lookup_key(self, secret: str, digest: str) -> Principal | None:
        key_id = cred.parse_api_key(secret)
        if key_id is None:
            return None
        key = self.store.key(key_id)
        now = self.clock()
        if key is None or not cred.same(key.secret_hash, digest) or not key.usable(now):
            return None
        if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
            self.store.touch_key(key_id, now)
        name = f"key:{key.key_id}/{key.name}"[:100]
        return Principal(name, "api_key", None, key.permissions())


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


__all__ = [
    "AccessService",
    "AccessStore",
    "ApiKey",
    "LoginResult",
    "SessionRow",
    "User",
]
