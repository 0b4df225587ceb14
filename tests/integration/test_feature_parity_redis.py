"""Parity with shared Redis state: two worker processes feed one stream concurrently; the
in-process engine, replaying the stream in the order Redis serialised it, computes exactly
the vectors the workers were served (and the same duplicates)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis

from riskloop.adapters.redis_features import RedisState
from riskloop.domain.labels import Label, label_from_dispute
from riskloop.features import EventInput, FeatureEngine, MemoryState, load_feature_set
from riskloop.intake import validate_event
from riskloop.vault import Keyring, MemoryKeyStore, Vault
from tests.support.streams import generate

# 40,000 events in CI (about a minute); RISKLOOP_REDIS_PARITY_EVENTS=100000 for the long run.
N_EVENTS = int(os.environ.get("RISKLOOP_REDIS_PARITY_EVENTS", "40000"))


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    client = redis.Redis()
    try:
        client.ping()
    except redis.ConnectionError:
        if os.environ.get("CI"):
            raise
        pytest.skip("Redis not reachable on 127.0.0.1:6379")
    prefix = f"rl:test:{uuid.uuid4().hex[:8]}:"
    yield prefix
    RedisState(client, prefix).reset()
    client.close()


def _prepared(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The stream as the engine sees it: vault-protected data, disputes as labels."""
    vault = Vault(Keyring.open(MemoryKeyStore()))
    items = []
    for payload in events:
        stored = vault.protect(validate_event(payload), source="t")
        if stored.event_type == "dispute":
            label = label_from_dispute(stored.data, stored.occurred_at)
            if label is not None:
                items.append(
                    {
                        "kind": "label",
                        "event_id": label.event_id,
                        "fraud": label.fraud,
                        "at": label.arrived_at.isoformat(),
                    }
                )
            continue
        e = EventInput.of(stored.event_id, stored.event_type, stored.occurred_at, stored.data)
        items.append(
            {
                "kind": "event",
                "event_id": e.event_id,
                "event_type": e.event_type,
                "ts": e.ts,
                "data": e.data,
            }
        )
    return items


@pytest.mark.slow
def test_two_processes_on_redis_match_the_in_process_replay(
    tmp_path: Path, redis_prefix: str
) -> None:
    items = _prepared(generate(N_EVENTS, seed=5))
    stream = tmp_path / "stream.jsonl"
    stream.write_bytes(b"".join(orjson.dumps(i) + b"\n" for i in items))
    outs = [tmp_path / f"out{k}.jsonl" for k in range(2)]
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.support.redis_worker",
                str(stream),
                str(out),
                redis_prefix,
                "2",
                str(k),
            ],
            cwd=Path(__file__).parents[2],
        )
        for k, out in enumerate(outs)
    ]
    for p in procs:
        assert p.wait(timeout=600) == 0

    served = sorted(
        (orjson.loads(line) for out in outs for line in out.read_bytes().splitlines()),
        key=lambda r: r["order"],
    )
    assert [r["order"] for r in served] == list(range(1, len(items) + 1))
    by_id = {i["event_id"]: i for i in items if i["kind"] == "event"}
    engine = FeatureEngine(load_feature_set(), MemoryState())
    mismatches, duplicates, labelled = [], 0, 0
    for r in served:
        if r["kind"] == "label":
            engine.apply_label(
                Label(r["event_id"], r["fraud"], datetime.fromisoformat(r["at"]), "t")
            )
            labelled += 1
            continue
        i = by_id[r["event_id"]]
        mine = engine.process(EventInput(i["event_id"], i["event_type"], i["ts"], i["data"]))
        duplicates += r["duplicate"]
        if mine.duplicate != r["duplicate"] or mine.values != r["values"]:
            mismatches.append((r["order"], r["event_id"]))
    assert mismatches[:5] == []
    assert duplicates > N_EVENTS // 200
    assert labelled > N_EVENTS // 500
    # Both workers did real work, interleaved.
    assert all(out.stat().st_size > 0 for out in outs)
