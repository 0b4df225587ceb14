"""Permissions, roles and the principal a request acts as.

A permission is ``area:verb``. Roles are fixed bundles, from least to most privileged, each
granting only what the job needs (an analyst works cases but cannot change rules; an auditor
reads everything and changes nothing). API keys carry scopes: a subset of the permissions,
chosen when the key is created, so a payment service's key can decide but not read cases.

>>> analyst = Principal("ana", "user", "analyst", permissions_for("analyst"), mfa=True)
>>> analyst.can("cases:work"), analyst.can("rules:write")
(True, False)
>>> Principal("svc", "api_key", None, frozenset({"decisions:write"})).can("decisions:read")
False
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

PERMISSIONS: dict[str, str] = {
    "decisions:write": "send events and ask for decisions; preview features",
    "decisions:read": "read decisions, events, features, contracts and credit notices",
    "labels:write": "record outcomes (chargebacks, confirmations, reviews)",
    "labels:read": "read labels",
    "cases:read": "read the review queue, cases and their explanations",
    "cases:work": "claim, note and resolve cases",
    "cases:supervise": "assign, bulk-resolve, approve or reject four-eyes resolutions",
    "cases:export": "export SAR drafts (data export)",
    "tasks:read": "read tasks",
    "tasks:work": "create and update tasks",
    "screening:read": "search the sanctions lists, read hits and KYC profiles",
    "screening:resolve": "resolve screening hits, add or revoke suppressions, rescreen",
    "rules:read": "read rules, lists, policies and backtests",
    "rules:write": "create or change rules and policies; run backtests",
    "lists:write": "add or remove list entries; create lists",
    "models:read": "read the model registry, cards, shadow and canary results",
    "models:write": "promote or roll back models, start or stop canaries",
    "monitoring:read": "read monitoring reports and metrics",
    "monitoring:run": "run drift, performance and freshness checks",
    "audit:read": "read the audit chain",
    "audit:export": "export the audit chain for a time range",
    "users:admin": "add users, change roles, create, rotate or revoke API keys",
    "retention:admin": "run retention, place or release legal holds",
}

Role = Literal["analyst", "senior_analyst", "risk_admin", "compliance", "auditor", "admin"]

_READ_CASEWORK = {
    "decisions:read",
    "labels:read",
    "cases:read",
    "tasks:read",
    "screening:read",
    "rules:read",
    "models:read",
    "monitoring:read",
}
_ANALYST = _READ_CASEWORK | {"cases:work", "tasks:work", "labels:write"}
_SENIOR = _ANALYST | {"cases:supervise", "lists:write", "screening:resolve"}

ROLES: dict[str, frozenset[str]] = {
    "analyst": frozenset(_ANALYST),
    "senior_analyst": frozenset(_SENIOR),
    "risk_admin": frozenset(
        _SENIOR | {"rules:write", "models:write", "monitoring:run", "audit:read"}
    ),
    "compliance": frozenset(
        _READ_CASEWORK
        | {"cases:work", "cases:export", "screening:resolve", "audit:read", "audit:export"}
        | {"retention:admin"}
    ),
    "auditor": frozenset(_READ_CASEWORK | {"audit:read", "audit:export"}),
    "admin": frozenset(PERMISSIONS),
}

# Permissions whose use by a dashboard user needs a session that passed TOTP. Every dashboard
# session does today (login asks for the code), so this holds for sessions made any other way.
PRIVILEGED = frozenset(
    {"users:admin", "rules:write", "models:write", "retention:admin", "audit:export"}
)


def permissions_for(role: str) -> frozenset[str]:
    return ROLES[role]


def unknown_scopes(scopes: Iterable[str]) -> list[str]:
    return sorted(s for s in scopes if s not in PERMISSIONS)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts as: a user (by session) or a service (by API key)."""

    name: str  # the username, or "key:<key id>" for an API key
    kind: Literal["user", "api_key"]
    role: str | None  # a user's role; None for an API key
    permissions: frozenset[str] = field(default_factory=frozenset)
    mfa: bool = False  # the session passed TOTP

    def can(self, permission: str) -> bool:
        if permission not in self.permissions:
            return False
        return not (self.kind == "user" and permission in PRIVILEGED and not self.mfa)
