"""Secrets people and services hold: passwords (argon2id), API keys, TOTP codes.

API keys are 256 random bits, so they are stored as a SHA-256 digest rather than argon2: a
slow hash adds nothing against guessing a random key and would cost ~50 ms per request.
Passwords are chosen by people, so they get argon2id.

>>> key_id, secret = new_api_key()
>>> parse_api_key(secret) == key_id
True
>>> parse_api_key("rk_nothex_x") is None
True
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_KEY = re.compile(r"^rk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
_hasher = PasswordHasher()  # argon2id, the library's current recommended parameters
MIN_PASSWORD = 12
TOTP_STEP_S = 30


def new_api_key() -> tuple[str, str]:
    """``(key id, secret)``; the id is the public part, repeated inside the secret."""
    key_id = secrets.token_hex(8)
    return key_id, f"rk_{key_id}_{secrets.token_urlsafe(32)}"


def parse_api_key(secret: str) -> str | None:
    m = _KEY.match(secret)
    return m.group(1) if m else None


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_ok(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def burn_password_time(password: str) -> None:
    """Spend what a real check costs, so an unknown username answers as slowly as a
    wrong password (no user enumeration by timing)."""
    password_ok(_DUMMY_HASH, password)


_DUMMY_HASH = _hasher.hash("riskloop-timing-equaliser")


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name="riskloop")


def totp_step(secret: str, code: str, *, at: float | None = None) -> int | None:
    """The 30-s step ``code`` belongs to (one step of clock drift either way), or None."""
    if not re.fullmatch(r"\d{6}", code):
        return None
    now = time.time() if at is None else at
    totp = pyotp.TOTP(secret)
    for drift in (0, -1, 1):
        t = now + drift * TOTP_STEP_S
        if hmac.compare_digest(totp.at(t), code):
            return int(t // TOTP_STEP_S)
    return None


def new_token() -> str:
    return secrets.token_urlsafe(32)
