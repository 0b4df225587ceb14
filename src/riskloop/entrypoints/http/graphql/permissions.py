"""Field-level authorisation: one permission class per area, on every root field and on
every field that reaches into another area or holds sensitive data (a decision's feature
values and stored event, a case's notes and SAR typology).

A denied field is an error for that field alone, naming the permission; the field is null
and the rest of the query resolves. Permissions are ``riskloop.access`` permissions, read
from the principal the auth middleware put on the request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import strawberry
from strawberry.permission import BasePermission

from riskloop.entrypoints.http.authz import AUTHENTICATED
from riskloop.entrypoints.http.graphql.context import Info, principal_of
from riskloop.entrypoints.http.graphql.errors import PermissionDenied

F = TypeVar("F", bound=Callable[..., Any])


class _Needs(BasePermission):
    permission = AUTHENTICATED
    error_class = PermissionDenied

    def __init__(self) -> None:
        self.message = f"this needs the permission {self.permission!r}"
        self.error_extensions = {"code": "FORBIDDEN", "permission": self.permission}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        principal = principal_of(info)
        if principal is None:
            return False
        return self.permission == AUTHENTICATED or principal.can(self.permission)


class Authenticated(_Needs):
    permission = AUTHENTICATED


class DecisionsRead(_Needs):
    permission = "decisions:read"


class CasesRead(_Needs):
    permission = "cases:read"


class LabelsRead(_Needs):
    permission = "labels:read"


class RulesRead(_Needs):
    permission = "rules:read"


class ModelsRead(_Needs):
    permission = "models:read"


def field(
    permission: type[_Needs] | None = None,
    *,
    description: str | None = None,
    name: str | None = None,
) -> Callable[[F], F]:
    """``@strawberry.field(...)`` guarded by ``permission``, typed for mypy (strawberry
    types the decorator it returns when given arguments as ``Any``)."""
    made = strawberry.field(
        permission_classes=[permission] if permission is not None else [],
        description=description,
        name=name,
    )
    return cast(Callable[[F], F], made)
