"""Who may do what: roles, permissions, principals, API-key and password secrets, TOTP.

Pure logic; the users, keys and sessions are stored by ``adapters.sql.access`` and used
through ``service.access``.
"""

from riskloop.access.model import (
    PERMISSIONS,
    ROLES,
    Principal,
    permissions_for,
    unknown_scopes,
)

__all__ = ["PERMISSIONS", "ROLES", "Principal", "permissions_for", "unknown_scopes"]
