"""Where backtests and canaries are kept. Both fail closed: a canary's change of state is
written with its audit entry or not at all, and a stale write is a conflict."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from riskloop.ledger.audit import AuditEntry
from riskloop.release.canary import Canary


class BacktestStore(Protocol):
    def create(
        self, backtest_id: str, spec: Mapping[str, Any], created_by: str, at: datetime
    ) -> None: ...

    def finish(self, backtest_id: str, report: Mapping[str, Any], at: datetime) -> None: ...

    def fail(self, backtest_id: str, error: str, at: datetime) -> None: ...

    def get(self, backtest_id: str) -> dict[str, Any] | None: ...

    def recent(self, limit: int = 50) -> list[dict[str, Any]]:
        """Newest first, without their reports."""
        ...


class CanaryStore(Protocol):
    def create(self, canary: Canary, audit: AuditEntry) -> Canary:
        """Store a running canary; a conflict if its event type already has one."""
        ...

    def update(self, before: Canary, after: Canary, audit: AuditEntry | None) -> Canary:
        """Write ``after`` if the canary is still at ``before.version``; else a conflict."""
        ...

    def get(self, canary_id: str) -> Canary | None: ...

    def all(self, *, status: str | None = None) -> list[Canary]: ...
