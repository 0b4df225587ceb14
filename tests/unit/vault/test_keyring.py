"""The keyring: created on first use, versions added and retired, malformed data refused."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from riskloop.errors import VaultError
from riskloop.vault.keyring import Keyring, MemoryKeyStore

KEY_B64 = base64.b64encode(b"k" * 32).decode()


def _store(data: dict[str, Any]) -> MemoryKeyStore:
    store = MemoryKeyStore()
    store.data = data
    return store


def _valid(**changes: Any) -> dict[str, Any]:
    return {
        "format": 1,
        "active": 1,
        "keks": {"1": KEY_B64},
        "retired": [],
        "hash_root": KEY_B64,
        **changes,
    }


def test_open_creates_fresh_keys_on_first_use() -> None:
    store = MemoryKeyStore()
    ring = Keyring.open(store)
    assert store.data is not None
    assert store.data["format"] == 1
    assert store.data["active"] == 1
    assert set(store.data["keks"]) == {"1"}
    assert len(base64.b64decode(store.data["keks"]["1"])) == 32
    assert len(base64.b64decode(store.data["hash_root"])) == 32
    assert ring.active_version == 1
    assert ring.versions == frozenset({1})
    assert len(ring.active_kek()[1]) == 32


def test_two_new_keyrings_get_different_keys() -> None:
    a, b = Keyring.open(MemoryKeyStore()), Keyring.open(MemoryKeyStore())
    assert a.active_kek()[1] != b.active_kek()[1]
    assert a.token_key != b.token_key


def test_open_reuses_the_stored_keys() -> None:
    store = MemoryKeyStore()
    first = Keyring.open(store)
    saved = store.data
    second = Keyring.open(store)
    assert store.data is saved
    assert second.active_kek() == first.active_kek()
    assert (second.token_key, second.match_key, second.fingerprint_key) == (
        first.token_key,
        first.match_key,
        first.fingerprint_key,
    )


def test_derived_keys_differ_per_purpose() -> None:
    ring = Keyring.open(_store(_valid()))
    keys = {ring.token_key, ring.match_key, ring.fingerprint_key, ring.kek(1)}
    assert len(keys) == 4
    assert all(len(k) == 32 for k in keys)


def test_add_version_makes_a_new_active_kek_and_keeps_the_old_one() -> None:
    store = MemoryKeyStore()
    ring = Keyring.open(store)
    old = ring.kek(1)
    assert ring.add_version() == 2
    assert ring.active_version == 2
    assert ring.versions == frozenset({1, 2})
    assert ring.kek(1) == old
    assert ring.active_kek() == (2, ring.kek(2))
    assert ring.kek(2) != old
    assert store.data is not None
    assert store.data["active"] == 2
    assert set(store.data["keks"]) == {"1", "2"}


def test_add_version_keeps_the_hash_keys() -> None:
    ring = Keyring.open(MemoryKeyStore())
    token_key = ring.token_key
    ring.add_version()
    assert ring.token_key == token_key


def test_retire_drops_an_old_version() -> None:
    store = MemoryKeyStore()
    ring = Keyring.open(store)
    ring.add_version()
    ring.retire(1)
    assert ring.versions == frozenset({2})
    assert store.data is not None
    assert set(store.data["keks"]) == {"2"}
    assert store.data["retired"] == [1]
    with pytest.raises(VaultError, match="key version 1 is not in the keyring"):
        ring.kek(1)


def test_retire_refuses_the_active_version() -> None:
    ring = Keyring.open(MemoryKeyStore())
    ring.add_version()
    with pytest.raises(VaultError, match="key version 2 is active"):
        ring.retire(2)
    assert ring.versions == frozenset({1, 2})


@pytest.mark.parametrize("version", [0, 3, 99])
def test_retire_refuses_an_unknown_version(version: int) -> None:
    ring = Keyring.open(MemoryKeyStore())
    ring.add_version()
    with pytest.raises(VaultError, match=f"key version {version} is not in the keyring"):
        ring.retire(version)
    assert ring.versions == frozenset({1, 2})


def test_kek_of_an_unknown_version_raises_vault_error() -> None:
    with pytest.raises(VaultError, match="key version 7 is not in the keyring"):
        Keyring.open(MemoryKeyStore()).kek(7)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (_valid(format=2), "unknown format"),
        ({k: v for k, v in _valid().items() if k != "format"}, "unknown format"),
        ({k: v for k, v in _valid().items() if k != "hash_root"}, "malformed (KeyError)"),
        ({k: v for k, v in _valid().items() if k != "keks"}, "malformed (KeyError)"),
        (_valid(active="one"), "malformed (ValueError)"),
        (_valid(active=None), "malformed (TypeError)"),
        (_valid(active=2), "active version 2 has no key"),
        (_valid(keks={"one": KEY_B64}), "malformed (ValueError)"),
        (_valid(keks={"1": "not base64!"}), "kek 1 is not valid base64"),
        (_valid(keks={"1": base64.b64encode(b"short").decode()}), "kek 1 must be 32 bytes"),
        (_valid(keks={"1": 12345}), "malformed (TypeError)"),
        (_valid(hash_root="%%%"), "hash_root is not valid base64"),
        (_valid(hash_root=base64.b64encode(b"x" * 16).decode()), "hash_root must be 32 bytes"),
    ],
)
def test_malformed_keyring_raises_vault_error(data: dict[str, Any], reason: str) -> None:
    with pytest.raises(VaultError) as info:
        Keyring.open(_store(data))
    assert reason in str(info.value)


@pytest.mark.parametrize("keks", [[KEY_B64], None, "abc"])
def test_keyring_whose_keks_are_not_a_mapping_raises_vault_error(keks: object) -> None:
    with pytest.raises(VaultError, match="malformed"):
        Keyring.open(_store(_valid(keks=keks)))


class SharedStore(MemoryKeyStore):
    """One store seen by two processes: it always reports that it may have changed."""

    def changed_since_load(self) -> bool:
        return True


def test_a_second_keyring_on_the_same_store_finds_a_version_added_by_the_first() -> None:
    store = SharedStore()
    first, second = Keyring.open(store), Keyring.open(store)
    first.add_version()
    # Asking for the unknown version reloads at once, without waiting for the poll interval.
    assert second.kek(2) == first.kek(2)
    assert second.active_version == 2


def test_add_version_on_a_second_keyring_does_not_overwrite_the_first_ones_version() -> None:
    store = SharedStore()
    first, second = Keyring.open(store), Keyring.open(store)
    assert first.add_version() == 2
    assert second.add_version() == 3
    assert store.data is not None
    assert set(store.data["keks"]) == {"1", "2", "3"}
    assert first.kek(3) == second.kek(3)
