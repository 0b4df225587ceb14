"""Roles, scopes and the secrets people and services hold."""

from __future__ import annotations

import time

import pyotp
import pytest

from riskloop.access import PERMISSIONS, ROLES, Principal, permissions_for, unknown_scopes
from riskloop.access import credentials as cred
from riskloop.access.model import PRIVILEGED


def test_roles_grant_only_known_permissions_and_widen_in_order() -> None:
    for perms in ROLES.values():
        assert perms <= set(PERMISSIONS)
    assert ROLES["analyst"] < ROLES["senior_analyst"] < ROLES["risk_admin"] < ROLES["admin"]
    assert ROLES["admin"] == set(PERMISSIONS)
    assert not any(
        p.endswith((":write", ":resolve", ":work", ":run", ":admin", ":supervise"))
        for p in ROLES["auditor"]
    )
    assert "rules:write" not in ROLES["analyst"] | ROLES["senior_analyst"] | ROLES["compliance"]
    assert "users:admin" not in ROLES["risk_admin"] | ROLES["compliance"]


def test_privileged_permissions_need_mfa_for_users_but_not_for_keys() -> None:
    without = Principal("a", "user", "admin", permissions_for("admin"), mfa=False)
    with_mfa = Principal("a", "user", "admin", permissions_for("admin"), mfa=True)
    key = Principal("key:x/ops", "api_key", None, frozenset(PERMISSIONS))
    for p in PRIVILEGED:
        assert not without.can(p) and with_mfa.can(p) and key.can(p)
    assert without.can("cases:read")


def test_unknown_scopes_are_named() -> None:
    assert unknown_scopes(["cases:read", "cases:steal", "root"]) == ["cases:steal", "root"]


def test_api_keys_parse_and_hash() -> None:
    key_id, secret = cred.new_api_key()
    assert cred.parse_api_key(secret) == key_id
    assert cred.parse_api_key(secret + "x") is None
    assert cred.parse_api_key("rk_" + key_id) is None
    assert cred.same(cred.digest(secret), cred.digest(secret))
    assert cred.digest(secret) != cred.digest(cred.new_api_key()[1])


def test_passwords_are_argon2id() -> None:
    h = cred.hash_password("correct horse battery")
    assert h.startswith("$argon2id$")
    assert cred.password_ok(h, "correct horse battery")
    assert not cred.password_ok(h, "correct horse batterY")
    assert not cred.password_ok("not a hash", "x")


@pytest.mark.parametrize("drift", [-1, 0, 1])
def test_totp_accepts_one_step_of_drift(drift: int) -> None:
    secret = cred.new_totp_secret()
    now = time.time()
    code = pyotp.TOTP(secret).at(now + drift * 30)
    assert cred.totp_step(secret, code, at=now) == int((now + drift * 30) // 30)


def test_totp_refuses_old_codes_and_junk() -> None:
    secret = cred.new_totp_secret()
    now = time.time()
    assert cred.totp_step(secret, pyotp.TOTP(secret).at(now - 120), at=now) is None
    for junk in ("", "12345", "1234567", "abcdef", " 12345"):
        assert cred.totp_step(secret, junk, at=now) is None
    assert cred.totp_uri(secret, "ana").startswith("otpauth://totp/riskloop:ana?secret=")
