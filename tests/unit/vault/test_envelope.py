"""Envelope encryption: a fresh data key per record wrapped by a versioned KEK; a ciphertext
opens only with its own aad, untouched, and under any KEK version still in the keyring."""

from __future__ import annotations

import dataclasses

import pytest

from riskloop.domain.events import SealedBox
from riskloop.errors import VaultError
from riskloop.vault.envelope import open_sealed, rewrap, seal
from riskloop.vault.keyring import Keyring, MemoryKeyStore

PLAINTEXT = b'{"holder_name":"Ada Lovelace"}'
AAD = b"event:evt-1"


@pytest.fixture
def ring() -> Keyring:
    return Keyring.open(MemoryKeyStore())


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def test_seal_then_open_gives_back_the_plaintext(ring: Keyring) -> None:
    box = seal(ring, PLAINTEXT, aad=AAD)
    assert box.key_version == 1
    assert PLAINTEXT not in box.ciphertext
    assert open_sealed(ring, box, aad=AAD) == PLAINTEXT


def test_sealing_twice_gives_different_ciphertexts_and_data_keys(ring: Keyring) -> None:
    a, b = seal(ring, PLAINTEXT, aad=AAD), seal(ring, PLAINTEXT, aad=AAD)
    assert a.ciphertext != b.ciphertext
    assert a.wrapped_key != b.wrapped_key


def test_empty_plaintext_roundtrips(ring: Keyring) -> None:
    assert open_sealed(ring, seal(ring, b"", aad=AAD), aad=AAD) == b""


def test_wrong_aad_fails_with_vault_error(ring: Keyring) -> None:
    box = seal(ring, PLAINTEXT, aad=AAD)
    with pytest.raises(VaultError, match="ciphertext failed authentication"):
        open_sealed(ring, box, aad=b"event:evt-2")


@pytest.mark.parametrize("at", [0, 12, -1])  # nonce, body, tag
def test_tampered_ciphertext_fails_with_vault_error(ring: Keyring, at: int) -> None:
    box = seal(ring, PLAINTEXT, aad=AAD)
    tampered = dataclasses.replace(box, ciphertext=_flip(box.ciphertext, at))
    with pytest.raises(VaultError, match="ciphertext failed authentication"):
        open_sealed(ring, tampered, aad=AAD)


@pytest.mark.parametrize("at", [0, 20, -1])
def test_tampered_wrapped_key_fails_with_vault_error(ring: Keyring, at: int) -> None:
    box = seal(ring, PLAINTEXT, aad=AAD)
    tampered = dataclasses.replace(box, wrapped_key=_flip(box.wrapped_key, at))
    with pytest.raises(VaultError, match="data key failed authentication"):
        open_sealed(ring, tampered, aad=AAD)


def test_a_wrapped_key_relabelled_with_another_version_fails(ring: Keyring) -> None:
    box = seal(ring, PLAINTEXT, aad=AAD)
    ring.add_version()
    with pytest.raises(VaultError, match="data key failed authentication"):
        open_sealed(ring, dataclasses.replace(box, key_version=2), aad=AAD)


def test_a_box_from_another_keyring_fails(ring: Keyring) -> None:
    box = seal(Keyring.open(MemoryKeyStore()), PLAINTEXT, aad=AAD)
    with pytest.raises(VaultError):
        open_sealed(ring, box, aad=AAD)


def test_unknown_key_version_fails_with_vault_error(ring: Keyring) -> None:
    box = dataclasses.replace(seal(ring, PLAINTEXT, aad=AAD), key_version=9)
    with pytest.raises(VaultError, match="key version 9 is not in the keyring"):
        open_sealed(ring, box, aad=AAD)


@pytest.mark.parametrize("part", ["ciphertext", "wrapped_key"])
def test_truncated_box_fails_with_vault_error(ring: Keyring, part: str) -> None:
    box = seal(ring, PLAINTEXT, aad=AAD)
    truncated = dataclasses.replace(box, **{part: getattr(box, part)[:5]})
    with pytest.raises(VaultError):
        open_sealed(ring, truncated, aad=AAD)


def test_rewrap_keeps_the_plaintext_and_moves_to_the_active_version(ring: Keyring) -> None:
    box = seal(ring, PLAINTEXT, aad=AAD)
    ring.add_version()
    fresh = rewrap(ring, box)
    assert fresh.key_version == 2
    assert fresh.ciphertext == box.ciphertext  # the data is never rewritten
    assert fresh.wrapped_key != box.wrapped_key
    assert open_sealed(ring, fresh, aad=AAD) == PLAINTEXT


def test_rewrap_of_a_tampered_wrapped_key_fails(ring: Keyring) -> None:
    box = seal(ring, PLAINTEXT, aad=AAD)
    ring.add_version()
    with pytest.raises(VaultError, match="data key failed authentication"):
        rewrap(ring, dataclasses.replace(box, wrapped_key=_flip(box.wrapped_key, 15)))


def test_old_version_still_opens_after_add_version(ring: Keyring) -> None:
    old = seal(ring, PLAINTEXT, aad=AAD)
    ring.add_version()
    new = seal(ring, b"later", aad=AAD)
    assert (old.key_version, new.key_version) == (1, 2)
    assert open_sealed(ring, old, aad=AAD) == PLAINTEXT
    assert open_sealed(ring, new, aad=AAD) == b"later"


def test_a_box_sealed_under_a_retired_version_no_longer_opens(ring: Keyring) -> None:
    old = seal(ring, PLAINTEXT, aad=AAD)
    ring.add_version()
    ring.retire(1)
    with pytest.raises(VaultError, match="key version 1 is not in the keyring"):
        open_sealed(ring, old, aad=AAD)


class SharedStore(MemoryKeyStore):
    """One store seen by two processes: it always reports that it may have changed."""

    def changed_since_load(self) -> bool:
        return True


def test_a_second_keyring_opens_what_the_first_sealed_under_a_new_version() -> None:
    store = SharedStore()
    writer, reader = Keyring.open(store), Keyring.open(store)
    writer.add_version()
    box = seal(writer, PLAINTEXT, aad=AAD)
    assert box.key_version == 2
    assert open_sealed(reader, box, aad=AAD) == PLAINTEXT
    assert isinstance(box, SealedBox)
