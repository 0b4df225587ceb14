"""Keyed, deterministic hashes: PAN tokens and PII match keys.

A token is stable for the same PAN under the same keyring, so features can group by card,
and cannot be reversed without the key (a plain hash of a PAN can: the space is small).

>>> key = b"k" * 32
>>> t = pan_token(key, "4111111111111111")
>>> t.startswith("tok_") and t == pan_token(key, "4111111111111111")
True
>>> match_hash(key, "email", " Ada@Example.COM ") == match_hash(key, "email", "ada@example.com")
True
>>> card_bin("4111111111111111"), card_bin("378282246310005")
('41111111', '378282')
"""

from __future__ import annotations

import hmac
import re
import unicodedata

_NON_DIGITS = re.compile(r"[^0-9]")
_SPACES = re.compile(r"\s+")


def _digest(key: bytes, data: bytes) -> bytes:
    return hmac.digest(key, data, "sha256")


def pan_token(key: bytes, pan: str) -> str:
    """``tok_`` and 128 bits of the keyed hash, in hex."""
    return "tok_" + _digest(key, pan.encode())[:16].hex()


def card_bin(pan: str) -> str:
    """The first 8 digits for PANs of 16+ digits, else 6, as PCI DSS allows to keep."""
    return pan[:8] if len(pan) >= 16 else pan[:6]


def normalise(kind: str, value: str) -> str:
    """The form two spellings of the same value share before hashing."""
    text = unicodedata.normalize("NFKC", value).strip().casefold()
    if kind == "phone":
        return ("+" if text.startswith("+") else "") + _NON_DIGITS.sub("", text)
    if kind in {"document_number", "account_number", "iban"}:
        return _SPACES.sub("", text).replace("-", "")
    return _SPACES.sub(" ", text)


def match_hash(key: bytes, kind: str, value: str) -> str:
    data = kind.encode() + b"\x00" + normalise(kind, value).encode()
    return "h_" + _digest(key, data)[:16].hex()


def fingerprint(key: bytes, canonical: bytes) -> str:
    return _digest(key, canonical).hex()
