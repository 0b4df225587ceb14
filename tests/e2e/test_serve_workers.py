"""`riskloop serve --workers 2` on PostgreSQL and Redis: two processes behind one socket,
every event sent twice at once from several connections. Each event gets one decision
(both answers name it), is stored once and counted once in the shared features. Without
shared records and feature state, --workers is refused."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from riskloop.config import Settings
from tests.support.factories import card_payment
from tests.support.http import cli_key

RISKLOOP = str(Path(os.environ.get("VIRTUAL_ENV", ".venv")) / "bin" / "riskloop")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
CARDS = ["4111111111111111", "5555555555554444", "4012888888881881", "5105105105105100"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _redis_or_skip() -> Any:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI"):
            raise
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    return client


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKLOOP_")}
    return {**env, "RISKLOOP_DATA_DIR": str(tmp_path / "data"), **extra}


def test_two_workers_decide_each_event_once(tmp_path: Path, pg_settings: Settings) -> None:
    # pg_settings, not the session database alone: it leaves no tables behind for the next
    # PostgreSQL test (test_golden_decisions[postgres] failed when it ran right after this)
    pg_database = pg_settings.database_url.get()
    client = _redis_or_skip()
    client.flushdb()
    port = _free_port()
    env = _env(
        tmp_path,
        RISKLOOP_DATABASE_URL=pg_database,
        RISKLOOP_FEATURE_STORE="redis",
        RISKLOOP_REDIS_URL=REDIS_URL,
    )
    server = subprocess.Popen(
        [RISKLOOP, "serve", "--workers", "2", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            assert time.monotonic() < deadline, "the workers did not start"
            time.sleep(0.2)
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        commands = [Path(f"/proc/{c}/cmdline").read_bytes() for c in children]
        workers = [c for c in commands if b"resource_tracker" not in c]
        assert len(workers) == 2  # two server processes behind the one socket

        # Each card's payments share one time, so a feature counted once per event sees
        # exactly 0, 1, ..., n-1 across them, whatever the order the workers take them in.
        events = [
            card_payment(
                event_id=f"w-{card[:4]}-{i}",
                occurred_at="2026-11-28T10:00:00Z",
                card={"pan": card},
            )
            for card in CARDS
            for i in range(40)
        ]
        sends = events * 2
        random.Random(7).shuffle(sends)

        auth = {"Authorization": f"Bearer {cli_key(env)}"}

        def post(event: dict[str, Any]) -> dict[str, Any]:
            with httpx.Client(base_url=url, timeout=30, headers=auth) as c:
                r = c.post("/v1/decisions", json=event)
            assert r.status_code in (200, 201), r.text
            return dict(r.json())

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(post, sends))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        if server.stdout is not None:
            server.stdout.close()

    by_event: dict[str, set[str]] = defaultdict(set)
    for a in answers:
        by_event[a["event_id"]].add(a["decision_id"])
    assert len(by_event) == len(events)
    assert all(len(ids) == 1 for ids in by_event.values())  # one decision per event
    engine = create_engine(pg_database)
    with engine.connect() as conn:
        decisions = conn.execute(text("SELECT count(*) FROM decisions")).scalar_one()
        stored = conn.execute(text("SELECT count(*) FROM event_log")).scalar_one()
    engine.dispose()
    assert (decisions, stored) == (len(events), len(events))
    per_card: dict[str, list[int]] = defaultdict(list)
    seen = {a["event_id"]: a["features"]["card_count_1h"] for a in answers}  # one decision
    for event_id, value in seen.items():
        per_card[event_id.rsplit("-", 1)[0]].append(value)
    assert {card: sorted(v) for card, v in per_card.items()} == {
        card: list(range(40)) for card in per_card
    }
    client.flushdb()


def test_workers_without_shared_state_are_refused(tmp_path: Path) -> None:
    result = subprocess.run(
        [RISKLOOP, "serve", "--workers", "2", "--port", str(_free_port())],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "--workers" in result.stderr and "RISKLOOP_FEATURE_STORE=redis" in result.stderr
