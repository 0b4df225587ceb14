"""Versioned key-encryption keys (KEKs) and the root of the keyed hashes.

The keyring holds every KEK version still needed to unwrap data keys, which version wraps new
data keys (``active``), and one hashing root from which HKDF derives the PAN-token key, the
PII match key and the fingerprint key. The hashing root never rotates: rotating it would
change every card token and break grouping by card. KEK rotation is cheap: only the wrapped
data keys are rewritten, never the data.

>>> from riskloop.vault.keyring import Keyring, MemoryKeyStore
>>> ring = Keyring.open(MemoryKeyStore())
>>> ring.active_version
1
>>> ring.add_version()
2
>>> sorted(ring.versions)
[1, 2]
"""

from __future__ import annotations

import base64
import os
import threading
import time
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from riskloop.domain.ports import KeyStore
from riskloop.errors import VaultError

_FORMAT = 1
_RELOAD_EVERY_S = 1.0


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        raise VaultError(f"keyring: {what} is not valid base64") from None
    if len(raw) != 32:
        raise VaultError(f"keyring: {what} must be 32 bytes")
    return raw


def _derive(root: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(root)


class MemoryKeyStore:
    """A keyring kept in memory (tests, throwaway runs)."""

    def __init__(self) -> None:
        self.data: dict[str, Any] | None = None

    def load(self) -> dict[str, Any] | None:
        return self.data

    def save(self, data: dict[str, Any]) -> None:
        self.data = data

    def changed_since_load(self) -> bool:
        return False


class Keyring:
    """Thread-safe view of the key store; picks up versions added by another process."""

    def __init__(self, store: KeyStore, data: dict[str, Any]) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._checked_at = time.monotonic()
        self._apply(data)

    @classmethod
    def open(cls, store: KeyStore) -> Keyring:
        """Load the keyring, creating one with fresh random keys on first use."""
        data = store.load()
        if data is None:
            data = {
                "format": _FORMAT,
                "active": 1,
                "keks": {"1": _b64(os.urandom(32))},
                "retired": [],
                "hash_root": _b64(os.urandom(32)),
            }
            store.save(data)
        return cls(store, data)

    def _apply(self, data: dict[str, Any]) -> None:
        if data.get("format") != _FORMAT:
            raise VaultError("keyring: unknown format")
        try:
            keks = {int(v): _unb64(k, f"kek {v}") for v, k in data["keks"].items()}
            active = int(data["active"])
            root = _unb64(data["hash_root"], "hash_root")
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise VaultError(f"keyring: malformed ({exc.__class__.__name__})") from None
        if active not in keks:
            raise VaultError(f"keyring: active version {active} has no key")
        self._data = data
        self._keks = keks
        self._active = active
        self.token_key = _derive(root, b"riskloop/pan-token/v1")
        self.match_key = _derive(root, b"riskloop/pii-match/v1")
        self.fingerprint_key = _derive(root, b"riskloop/fingerprint/v1")
        self.audit_key = _derive(root, b"riskloop/audit-checkpoint/v1")

    def _refresh(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._checked_at < _RELOAD_EVERY_S:
            return
        self._checked_at = now
        if force or self._store.changed_since_load():
            data = self._store.load()
            if data is not None:
                self._apply(data)

    @property
    def active_version(self) -> int:
        with self._lock:
            self._refresh()
            return self._active

    @property
    def versions(self) -> frozenset[int]:
        with self._lock:
            return frozenset(self._keks)

    def active_kek(self) -> tuple[int, bytes]:
        with self._lock:
            self._refresh()
            return self._active, self._keks[self._active]

    def kek(self, version: int) -> bytes:
        with self._lock:
            if version not in self._keks:
                # Another process may have rotated since we loaded.
                self._refresh(force=True)
            try:
                return self._keks[version]
            except KeyError:
                raise VaultError(f"key version {version} is not in the keyring") from None

    def add_version(self) -> int:
        """Add a new KEK and make it the one that wraps new data keys."""
        with self._lock:
            self._refresh(force=True)
            version = max(self._keks) + 1
            data = dict(self._data)
            data["keks"] = {**data["keks"], str(version): _b64(os.urandom(32))}
            data["active"] = version
            self._store.save(data)
            self._apply(data)
            return version

    def retire(self, version: int) -> None:
        """Drop a KEK. The caller checks first that no data key is still wrapped by it."""
        with self._lock:
            self._refresh(force=True)
            if version == self._active:
                raise VaultError(f"key version {version} is active; rotate before retiring it")
            if version not in self._keks:
                raise VaultError(f"key version {version} is not in the keyring")
            data = dict(self._data)
            data["keks"] = {v: k for v, k in data["keks"].items() if int(v) != version}
            data["retired"] = [*data.get("retired", []), version]
            self._store.save(data)
            self._apply(data)
