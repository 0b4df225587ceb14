"""Envelope encryption: AES-256-GCM under a fresh data key per record, the data key wrapped
by a versioned key-encryption key.

``aad`` binds a ciphertext to its record (e.g. the event id), so a ciphertext copied into
another row fails to open.

>>> from riskloop.vault.keyring import Keyring, MemoryKeyStore
>>> ring = Keyring.open(MemoryKeyStore())
>>> box = seal(ring, b"Ada Lovelace", aad=b"evt-1")
>>> open_sealed(ring, box, aad=b"evt-1")
b'Ada Lovelace'
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from riskloop.domain.events import SealedBox
from riskloop.errors import VaultError
from riskloop.vault.keyring import Keyring

_NONCE = 12


def _wrap_aad(version: int) -> bytes:
    return b"riskloop/dek/v%d" % version


def seal(ring: Keyring, plaintext: bytes, *, aad: bytes) -> SealedBox:
    version, kek = ring.active_kek()
    dek = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(_NONCE)
    ciphertext = nonce + AESGCM(dek).encrypt(nonce, plaintext, aad)
    wrap_nonce = os.urandom(_NONCE)
    wrapped = wrap_nonce + AESGCM(kek).encrypt(wrap_nonce, dek, _wrap_aad(version))
    return SealedBox(ciphertext=ciphertext, wrapped_key=wrapped, key_version=version)


def _unwrap(ring: Keyring, box: SealedBox) -> bytes:
    kek = ring.kek(box.key_version)
    try:
        return AESGCM(kek).decrypt(
            box.wrapped_key[:_NONCE], box.wrapped_key[_NONCE:], _wrap_aad(box.key_version)
        )
    except (InvalidTag, ValueError):  # ValueError: truncated, no room for the nonce
        raise VaultError("data key failed authentication") from None


def open_sealed(ring: Keyring, box: SealedBox, *, aad: bytes) -> bytes:
    dek = _unwrap(ring, box)
    try:
        return AESGCM(dek).decrypt(box.ciphertext[:_NONCE], box.ciphertext[_NONCE:], aad)
    except (InvalidTag, ValueError):
        raise VaultError("ciphertext failed authentication") from None


def rewrap(ring: Keyring, box: SealedBox) -> SealedBox:
    """The same ciphertext with its data key wrapped by the active KEK."""
    dek = _unwrap(ring, box)
    version, kek = ring.active_kek()
    nonce = os.urandom(_NONCE)
    wrapped = nonce + AESGCM(kek).encrypt(nonce, dek, _wrap_aad(version))
    return SealedBox(ciphertext=box.ciphertext, wrapped_key=wrapped, key_version=version)
