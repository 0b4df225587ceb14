"""The shared services fail while two ``riskloop consume`` workers decide a stream on
PostgreSQL + Redis: Redis is killed (-9) and restarted, or PostgreSQL terminates the
workers' connections, several times. Once the stream drains, every event is stored once and
has one decision, nothing is left unacknowledged, and the shared feature state is what one
clean in-process pass over the stored events gives.

While a service is down, an event cannot be decided properly, so the worker naks it and it
comes back (``retried``): it is not decided on fallback features and acknowledged. The
workers stop fetching until the service answers again (``service.breaker``), so an outage
longer than the retry schedule dead-letters nothing. The one
exception is an event whose features were counted but whose decision was not recorded:
its redelivery finds it counted and decides it with ``FEATURES_UNAVAILABLE`` (as after
``kill -9`` of a worker, tests/e2e/test_consume_crash.py); those are few and bounded.

Each test has its own database (its backends are the ones terminated), its own Redis
(``tests/support/redis_server.py``; the machine's shared Redis is never restarted) and its
own stream. The events are same-instant card payments, as in the crash test: a card's
``card_count_7d`` values are 0 … n-1 once each unless an event is counted twice.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import create_engine, text

from riskloop.bootstrap import Riskloop, build
from riskloop.config import Settings
from riskloop.features import FeatureEngine, MemoryState, load_feature_set
from riskloop.pipeline import FEATURES_UNAVAILABLE
from riskloop.service.bus import Subjects
from riskloop.service.features import FeatureService
from tests.support.jetstream import (
    RISKLOOP,
    consume_command,
    consumer_state,
    probe,
    publish,
    same_instant_payments,
    temporary_stream,
    wait_for_progress,
    worker_env,
)
from tests.support.postgres import PG_ADMIN_URL, database_or_skip
from tests.support.redis_server import PrivateRedis

CARDS, PER_CARD = 6, 150  # 900 events
WORKERS, CONCURRENCY = 2, 8
IN_FLIGHT = WORKERS * CONCURRENCY


@pytest.fixture
def stream() -> Iterator[tuple[str, Subjects]]:
    with temporary_stream() as made:
        yield made


@pytest.fixture
def database() -> Iterator[tuple[str, str]]:
    """A database of the test's own: (name, URL)."""
    for url in database_or_skip("riskloop_fault"):
        yield url.rsplit("/", 1)[1], url


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path / "redis", durable=True)
    server.start()
    yield server
    server.stop()


class _Workers:
    """``WORKERS`` consume processes of one group, their logs in one file."""

    def __init__(self, env: dict[str, str], log: Path, retry_delay: float = 0.5) -> None:
        # retry_delay 0.5: redelivered 0.5, 1.5, 3.5, 7.5 s after a failure; the 5th is last
        self.log = log
        command = [
            *consume_command(),
            "--concurrency",
            str(CONCURRENCY),
            "--ack-wait",
            "10",
            "--retry-delay",
            str(retry_delay),
            "--json",
        ]
        # Migrate once: workers starting together on an empty database would race.
        subprocess.run([RISKLOOP, "db", "upgrade"], env=env, check=True, capture_output=True)
        with log.open("ab") as err:
            self.procs = [
                subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=err)
                for _ in range(WORKERS)
            ]

    def progress(self, name: str, total: int, taken: int) -> None:
        try:
            wait_for_progress(name, total, taken, self.procs)
        except AssertionError as exc:
            self.kill()
            raise AssertionError(f"{exc}\n{self.log.read_text()}") from None

    def drain(self, name: str, timeout: float = 60) -> list[dict[str, Any]]:
        """Wait until every message is delivered and settled, then stop the workers with
        SIGTERM; their summaries."""
        deadline = time.monotonic() + timeout
        while consumer_state(name) != (0, 0):
            if time.monotonic() > deadline or any(p.poll() is not None for p in self.procs):
                self.kill()
                raise AssertionError(f"not drained: {consumer_state(name)}\n{self.log.read_text()}")
            time.sleep(0.1)
        summaries = []
        for p in self.procs:
            p.send_signal(signal.SIGTERM)
        for p in self.procs:
            out, _ = p.communicate(timeout=30)
            assert p.returncode == 0, self.log.read_text()
            summaries.append(orjson.loads(out.decode().strip().splitlines()[-1]))
        return summaries

    def kill(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
            if p.stdout is not None:
                p.stdout.close()


def _decided(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM decisions")).scalar_one())
    finally:
        engine.dispose()


def _settings(env: dict[str, str]) -> Settings:
    return Settings.from_env({k: v for k, v in env.items() if k.startswith("RISKLOOP_")})


def _assert_each_event_once(
    rl: Riskloop, events: list[dict[str, Any]], pans: list[str], max_fallbacks: int
) -> None:
    assert rl.events.count() == len(events)  # each stored once
    decisions = rl.ledger.scan(limit=100_000)
    assert sorted(d.event_id for d in decisions) == sorted(e["event_id"] for e in events)

    # Decided on fallback features: only events counted before a failure and decided on
    # their redelivery.
    fallbacks = [d.event_id for d in decisions if FEATURES_UNAVAILABLE in d.fallbacks]
    assert len(fallbacks) <= max_fallbacks, f"{len(fallbacks)} decided without features"
    seen: dict[int, list[int]] = defaultdict(list)
    for d in decisions:
        if FEATURES_UNAVAILABLE not in d.fallbacks:
            seen[int(d.event_id.split("-")[1])].append(d.features["card_count_7d"])
    for card, values in seen.items():
        assert len(values) == len(set(values)), f"card {card}: a count seen twice"
        assert max(values) < PER_CARD, f"card {card}: an event counted twice"

    # The shared state is what one clean in-process pass over the stored events gives.
    clean = FeatureService(FeatureEngine(load_feature_set(), MemoryState()), rl.events)
    clean.rebuild()
    for c, pan in enumerate(pans):
        one = rl.ingestor.protect_only(probe(pan, c))
        args = (one.event_id, one.event_type, one.data, one.occurred_at)
        shared, fresh = rl.features.preview(*args), clean.preview(*args)
        assert shared.values == fresh.values, f"card {c}"
        assert shared.values is not None and shared.values["card_count_7d"] == PER_CARD


@pytest.mark.slow
@pytest.mark.parametrize(
    ("down_s", "retry_delay", "taken"),
    [
        pytest.param(1.5, 0.5, 250, id="restarted"),
        # Five deliveries span 0.2 + 0.4 + 0.8 + 1.6 s here, and Redis stays down for 6 s
        # with a short backlog left: before the workers paused their fetches in an outage,
        # it ran through its deliveries into the dead letters.
        pytest.param(6.0, 0.2, 700, id="longer-than-the-retry-schedule"),
    ],
)
def test_redis_killed_and_restarted_mid_stream_loses_and_double_counts_nothing(
    stream: tuple[str, Subjects],
    database: tuple[str, str],
    private_redis: PrivateRedis,
    tmp_path: Path,
    down_s: float,
    retry_delay: float,
    taken: int,
) -> None:
    name, subjects = stream
    events, pans = same_instant_payments(CARDS, PER_CARD, prefix="redis")
    publish(name, subjects, events)
    env = worker_env(
        tmp_path / "data",
        name,
        subjects,
        RISKLOOP_DATABASE_URL=database[1],
        RISKLOOP_FEATURE_STORE="redis",
        RISKLOOP_REDIS_URL=private_redis.url,
    )
    workers = _Workers(env, tmp_path / "consume.log", retry_delay=retry_delay)
    try:
        workers.progress(name, len(events), taken)
        private_redis.kill()
        time.sleep(down_s)
        private_redis.start()  # same port and directory: the append-only file is reloaded
        assert _decided(database[1]) < len(events), "Redis came back after the stream was done"
        summaries = workers.drain(name)
    finally:
        workers.kill()

    assert sum(s["dead_lettered"] for s in summaries) == 0
    rl = build(_settings(env), rebuild_features=False)
    try:
        _assert_each_event_once(rl, events, pans, max_fallbacks=IN_FLIGHT)
    finally:
        rl.close()
    # The outage was seen (fetches paused), and waited out.
    assert sum(s["retried"] for s in summaries) > 0
    assert sum(s["outages"] for s in summaries) > 0, summaries


@pytest.mark.slow
def test_postgres_connections_terminated_mid_stream_lose_and_double_count_nothing(
    stream: tuple[str, Subjects],
    database: tuple[str, str],
    private_redis: PrivateRedis,
    tmp_path: Path,
) -> None:
    name, subjects = stream
    db_name, db_url = database
    events, pans = same_instant_payments(CARDS, PER_CARD, prefix="pg")
    publish(name, subjects, events)
    env = worker_env(
        tmp_path / "data",
        name,
        subjects,
        RISKLOOP_DATABASE_URL=db_url,
        RISKLOOP_FEATURE_STORE="redis",
        RISKLOOP_REDIS_URL=private_redis.url,
    )
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    workers = _Workers(env, tmp_path / "consume.log")
    terminated = []
    try:
        for taken in (150, 350, 550):
            workers.progress(name, len(events), taken)
            with admin.connect() as conn:
                killed = conn.execute(
                    text(
                        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) "
                        "FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid()"
                    ),
                    {"db": db_name},
                ).scalar_one()
            terminated.append(killed)
        assert _decided(db_url) < len(events), "terminated after the stream was done"
        summaries = workers.drain(name)
    finally:
        workers.kill()
        admin.dispose()

    assert all(n >= WORKERS for n in terminated), terminated  # each worker lost its pool
    assert sum(s["dead_lettered"] for s in summaries) == 0
    rl = build(_settings(env), rebuild_features=False)
    try:
        _assert_each_event_once(rl, events, pans, max_fallbacks=IN_FLIGHT)
    finally:
        rl.close()
