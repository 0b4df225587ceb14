"""The same seed and parameters give the same bytes; another seed gives other traffic; the
genuine traffic does not move when the fraud rate does."""

from __future__ import annotations

from pathlib import Path

from riskloop.simulate import simulate
from tests.unit.simulate.conftest import read_ndjson

FILES = ("events.ndjson", "labels.ndjson", "truth.ndjson", "manifest.json")


def _bytes(out: Path) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in FILES}


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    simulate(tmp_path / "a", customers=80, days=10, seed=3)
    simulate(tmp_path / "b", customers=80, days=10, seed=3)
    assert _bytes(tmp_path / "a") == _bytes(tmp_path / "b")


def test_another_seed_gives_different_traffic(tmp_path: Path) -> None:
    simulate(tmp_path / "a", customers=80, days=10, seed=3)
    simulate(tmp_path / "b", customers=80, days=10, seed=4)
    a, b = _bytes(tmp_path / "a"), _bytes(tmp_path / "b")
    assert a["events.ndjson"] != b["events.ndjson"]
    amounts = [e.get("amount") for e in read_ndjson(tmp_path / "a" / "events.ndjson")]
    other = [e.get("amount") for e in read_ndjson(tmp_path / "b" / "events.ndjson")]
    assert amounts[:200] != other[:200]


def test_genuine_traffic_is_the_same_whatever_the_fraud_rate(tmp_path: Path) -> None:
    def genuine(out: Path) -> list[tuple[str, str, object]]:
        rows = read_ndjson(out / "truth.ndjson")
        # Friendly fraud is a genuine payment its cardholder disputes: listed, but genuine.
        truth = {t["event_id"] for t in rows if t["pattern"] != "friendly_fraud"}
        return [
            (e["occurred_at"], e.get("customer_id", ""), e.get("amount"))
            for e in read_ndjson(out / "events.ndjson")
            if e["event_id"] not in truth
        ]

    simulate(tmp_path / "none", customers=60, days=7, seed=5, fraud_rate=0.0)
    simulate(tmp_path / "some", customers=60, days=7, seed=5, fraud_rate=0.1)
    assert not [t for t in read_ndjson(tmp_path / "none" / "truth.ndjson") if t["fraud"]]
    assert genuine(tmp_path / "none") == genuine(tmp_path / "some")


def test_an_end_moves_the_whole_period(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    s = simulate(tmp_path, customers=20, days=3, end=datetime(2025, 6, 2, 12, 30))
    assert s.end == datetime(2025, 6, 2, 12, 30, tzinfo=UTC)
    events = read_ndjson(s.events_path)
    assert events[0]["occurred_at"] >= "2025-05-30T12:30:00Z"
    assert events[-1]["occurred_at"] < "2025-06-02T12:30:00Z"
