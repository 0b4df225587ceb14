"""Vault: PAN tokenization, envelope encryption of PII, keyed hashes, key rotation, masking."""

from riskloop.vault.envelope import open_sealed, rewrap, seal
from riskloop.vault.keyring import Keyring, MemoryKeyStore
from riskloop.vault.masking import MaskingFilter, mask_pan, mask_text
from riskloop.vault.protect import Vault, sensitive_paths
from riskloop.vault.rotation import RotationReport, retire_key, rotate_keys
from riskloop.vault.shred import match_hash_paths, without_paths

__all__ = [
    "Keyring",
    "MaskingFilter",
    "MemoryKeyStore",
    "RotationReport",
    "Vault",
    "mask_pan",
    "mask_text",
    "match_hash_paths",
    "open_sealed",
    "retire_key",
    "rewrap",
    "rotate_keys",
    "seal",
    "sensitive_paths",
    "without_paths",
]
