"""One small simulation (200 customers, 21 days) run once per session and read back, for the
tests that check its shape; the determinism and CLI tests run their own."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from riskloop.simulate import SimulationSummary, simulate


def read_ndjson(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def when(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


@dataclass
class Run:
    summary: SimulationSummary
    events: list[dict[str, Any]]
    labels: list[dict[str, Any]]
    truth: dict[str, dict[str, Any]]  # event id -> truth row
    manifest: dict[str, Any]

    @property
    def by_id(self) -> dict[str, dict[str, Any]]:
        return {e["event_id"]: e for e in self.events}

    def role(self, event: dict[str, Any]) -> str | None:
        row = self.truth.get(event["event_id"])
        return None if row is None else str(row["role"])

    def fraud(self, event: dict[str, Any]) -> bool:
        row = self.truth.get(event["event_id"])
        return bool(row and row["fraud"])

    def incidents(self, pattern: str) -> dict[str, list[dict[str, Any]]]:
        """Each incident of ``pattern``: its events in time order."""
        by_id = self.by_id
        found: dict[str, list[dict[str, Any]]] = {}
        for row in self.truth.values():
            if row["pattern"] == pattern:
                found.setdefault(row["incident"], []).append(by_id[row["event_id"]])
        return {k: sorted(v, key=lambda e: e["occurred_at"]) for k, v in found.items()}


def load(summary: SimulationSummary) -> Run:
    return Run(
        summary=summary,
        events=read_ndjson(summary.events_path),
        labels=read_ndjson(summary.labels_path),
        truth={row["event_id"]: row for row in read_ndjson(summary.truth_path)},
        manifest=json.loads(summary.manifest_path.read_text(encoding="utf-8")),
    )


@pytest.fixture(scope="session")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    out = tmp_path_factory.mktemp("simulation")
    return load(simulate(out, customers=200, days=21, seed=11))
