"""One exception tree for riskloop; each error carries its data as attributes.

::

    RiskloopError
     ├── ConfigError            a setting is invalid (names the variable)
     ├── InvalidInput           a request body is wrong (lists field paths and rules)
     │    └── InvalidEvent      input broke a data contract
     │         └── ForbiddenData  CVV / track data / PIN was sent: never stored
     ├── ConflictError          an id is reused with a different body
     ├── NotFound               a record does not exist
     ├── VaultError             a key is missing, or a ciphertext fails authentication
     ├── InvalidDefinition      a feature (or rule) definition is wrong (names where and why)
     ├── StorageError           the record store failed; nothing was acknowledged
     ├── BusError               the event bus did not confirm a publish, fetch or ack
     ├── AuthFailed             no valid credentials (never says which part was wrong)
     ├── RateLimited            too many failed logins; retry after ``retry_after_s``
     └── Forbidden              authenticated, but without the permission named

``entrypoints.http.errors`` is the one place that maps these to HTTP status codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self


class RiskloopError(Exception):
    """Base of every error riskloop raises on purpose."""


class ConfigError(RiskloopError):
    def __init__(self, variable: str, reason: str) -> None:
        self.variable = variable
        self.reason = reason
        super().__init__(f"{variable}: {reason}")


@dataclass(frozen=True, slots=True)
class FieldError:
    """One broken rule: ``field`` is a dotted path (``card.pan``, ``events[3].amount``)."""

    field: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "reason": self.reason}


class InvalidInput(RiskloopError):
    def __init__(self, errors: list[FieldError]) -> None:
        if not errors:
            raise ValueError("InvalidInput needs at least one FieldError")
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.reason}" for e in errors))

    @property
    def field(self) -> str:
        return self.errors[0].field

    @property
    def reason(self) -> str:
        return self.errors[0].reason

    def prefixed(self, prefix: str) -> Self:
        """The same errors with ``prefix`` in front of each path (for batch items)."""
        return type(self)(
            [
                FieldError(f"{prefix}.{e.field}" if e.field else prefix, e.reason)
                for e in self.errors
            ]
        )


class InvalidEvent(InvalidInput):
    """The input broke an event's data contract."""


class ForbiddenData(InvalidEvent):
    """Sensitive authentication data (CVV, track, PIN) must never be sent or stored."""


class ConflictError(RiskloopError):
    def __init__(self, kind: str, key: str, reason: str) -> None:
        self.kind = kind
        self.key = key
        self.reason = reason
        super().__init__(f"{kind} {key!r}: {reason}")


class NotFound(RiskloopError):
    def __init__(self, kind: str, key: str) -> None:
        self.kind = kind
        self.key = key
        super().__init__(f"{kind} {key!r} not found")


class InvalidDefinition(RiskloopError):
    def __init__(self, where: str, reason: str) -> None:
        self.where = where
        self.reason = reason
        super().__init__(f"{where}: {reason}")


class VaultError(RiskloopError):
    pass


class StorageError(RiskloopError):
    pass


class BusError(RiskloopError):
    """The bus did not confirm a publish, a fetch or an acknowledgement: the caller must not
    acknowledge its own input (see ``service.bus``)."""


class AuthFailed(RiskloopError):
    pass


class RateLimited(RiskloopError):
    def __init__(self, retry_after_s: int) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(f"too many failed attempts; retry in {retry_after_s} s")


class Forbidden(RiskloopError):
    def __init__(self, permission: str, reason: str = "") -> None:
        self.permission = permission
        super().__init__(reason or f"this needs the permission {permission!r}")
