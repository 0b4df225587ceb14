"""JetStream load generator (issue 10): simulated traffic published into NATS JetStream at a
target rate for a bounded time, decided by N ``riskloop consume`` worker processes sharing
PostgreSQL and Redis; the end-to-end latency of each event, from its due publish time to
the arrival of its decision on ``<prefix>.decisions.>`` (matched by ``event_id``).

For each worker count, on fresh state (a new PostgreSQL database, Redis db 13 flushed, a
stream and prefix of its own; the example playbook loaded):

1. warm-up: ``--warmup`` events at the target rate, not measured;
2. open loop: event i is due at ``start + i / rate`` for ``--seconds``; latency counts from
   the due time, so a publisher held up by a busy machine is not hidden (coordinated
   omission); throughput is decisions received per second of the run;
3. saturation: ``--burst`` events published as fast as JetStream takes them; the drain rate
   is the burst over the time from its first publish to its last decision.

The workers, nats-server, PostgreSQL, Redis and this process (publisher and subscriber)
share the machine's cores. The events go to 127.0.0.1 only, bounded in count and time.

Run: .venv/bin/python -m benchmarks.stream_load [--rate 300] [--seconds 20] [--workers 1 2 4]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.consume_bench import pct
from benchmarks.import_throughput import machine
from riskloop.adapters.nats_bus import NatsBus
from riskloop.service.bus import Subjects
from tests.support.streams import generate

ROOT = Path(__file__).resolve().parents[1]
RISKLOOP = str(ROOT / ".venv" / "bin" / "riskloop")
PLAYBOOK = ROOT / "examples" / "playbook.yaml"
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/13"
NATS_URL = "nats://127.0.0.1:4222"  # loopback only
DURABLE = "riskloop-decide"


@dataclass
class Phase:
    sent: int = 0
    publish_s: float = 0.0
    elapsed_s: float = 0.0  # first due time to last decision received
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def missing(self) -> int:
        return self.sent - len(self.latencies_ms)

    @property
    def throughput(self) -> float:
        return len(self.latencies_ms) / self.elapsed_s if self.elapsed_s else 0.0


class Decisions:
    """Arrival times of decisions by event id: the first one counts (a redelivered event is
    published again with the same decision)."""

    def __init__(self) -> None:
        self.due: dict[str, float] = {}
        self.done: dict[str, float] = {}
        self._all_in = asyncio.Event()

    async def on_message(self, msg: Any) -> None:
        now = time.perf_counter()
        event_id = orjson.loads(msg.data)["event_id"]
        if event_id in self.due and event_id not in self.done:
            self.done[event_id] = now
            if len(self.done) == len(self.due):
                self._all_in.set()

    def expect(self, event_id: str, due: float) -> None:
        self.due[event_id] = due
        self._all_in.clear()

    async def wait(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):  # what did not arrive is reported as missing
            await asyncio.wait_for(self._all_in.wait(), timeout)

    def phase(self, ids: list[str], sent: int, publish_s: float) -> Phase:
        start = min(self.due[i] for i in ids)
        arrived = [self.done[i] for i in ids if i in self.done]
        lat = [(self.done[i] - self.due[i]) * 1000 for i in ids if i in self.done]
        elapsed = (max(arrived) - start) if arrived else 0.0
        return Phase(sent, publish_s, elapsed, lat)


async def _publish(
    bus: NatsBus,
    subjects: Subjects,
    events: list[dict[str, Any]],
    decisions: Decisions,
    rate: float | None,
) -> float:
    begin = time.perf_counter()
    for i, e in enumerate(events):
        due = time.perf_counter()
        if rate is not None:
            due = begin + i / rate
            if (wait := due - time.perf_counter()) > 0:
                await asyncio.sleep(wait)
        decisions.expect(e["event_id"], due)
        await bus.publish(subjects.event(e["event_type"]), orjson.dumps(e))
    return time.perf_counter() - begin


async def _ready(bus: NatsBus, workers: int, timeout: float = 120) -> None:
    """Until every worker has a pull request waiting on the group."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            info = await bus.js.consumer_info(bus.stream, DURABLE)
            if (info.num_waiting or 0) >= workers:
                return
        except Exception:  # the group does not exist until the first worker subscribes
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError("the workers did not start")


async def measure(
    subjects: Subjects, stream: str, events: list[dict[str, Any]], args: argparse.Namespace, n: int
) -> tuple[Phase, Phase]:
    bus = await NatsBus.connect(NATS_URL, stream=stream, subjects=subjects)
    decisions = Decisions()
    sub = await bus.nc.subscribe(f"{subjects.prefix}.decisions.>", cb=decisions.on_message)
    try:
        await _ready(bus, n)
        warm = events[: args.warmup]
        steady = events[args.warmup : args.warmup + int(args.rate * args.seconds)]
        burst = events[args.warmup + len(steady) :][: args.burst]
        await _publish(bus, subjects, warm, decisions, args.rate)
        await decisions.wait(60)
        took = await _publish(bus, subjects, steady, decisions, args.rate)
        await decisions.wait(args.drain_timeout)
        open_loop = decisions.phase([e["event_id"] for e in steady], len(steady), took)
        took = await _publish(bus, subjects, burst, decisions, None)
        await decisions.wait(args.drain_timeout)
        saturation = decisions.phase([e["event_id"] for e in burst], len(burst), took)
    finally:
        await sub.unsubscribe()
        await bus.js.delete_stream(stream)
        await bus.close()
    return open_loop, saturation


def _unique(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The simulator repeats a few events (as clients retry); one of each for timing."""
    seen: set[str] = set()
    out = []
    for e in events:
        if e["event_id"] not in seen:
            seen.add(e["event_id"])
            out.append(e)
    return out


def run_one(n: int, events: list[dict[str, Any]], args: argparse.Namespace, tmp: str) -> str:
    import redis

    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    db = f"riskloop_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{db}"'))
    redis.Redis.from_url(REDIS_URL).flushdb()
    tag = uuid.uuid4().hex[:8]
    subjects, stream = Subjects(f"rlload.{tag}"), f"RLLOAD_{tag.upper()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKLOOP_")}
    env.update(
        RISKLOOP_DATA_DIR=f"{tmp}/w{n}",
        RISKLOOP_DATABASE_URL=PG_ADMIN.rsplit("/", 1)[0] + f"/{db}",
        RISKLOOP_FEATURE_STORE="redis",
        RISKLOOP_REDIS_URL=REDIS_URL,
        RISKLOOP_BUS="nats",
        RISKLOOP_NATS_URL=NATS_URL,
        RISKLOOP_NATS_STREAM=stream,
        RISKLOOP_NATS_PREFIX=subjects.prefix,
        RISKLOOP_LOG_LEVEL="WARNING",
    )
    procs: list[subprocess.Popen[bytes]] = []
    try:
        # Once, before the workers: they would race to migrate and to create the keyring.
        subprocess.run(
            [RISKLOOP, "rules", "load", str(PLAYBOOK)], env=env, check=True, capture_output=True
        )
        command = [RISKLOOP, "consume", "--concurrency", str(args.concurrency), "--json"]
        procs = [
            subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            for _ in range(n)
        ]
        open_loop, sat = asyncio.run(measure(subjects, stream, events, args, n))
        for p in procs:
            p.send_signal(signal.SIGTERM)
        summaries = [orjson.loads(p.communicate(timeout=60)[0].splitlines()[-1]) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()
    ol, sl = open_loop.latencies_ms, sat.latencies_ms
    dead = sum(s["dead_lettered"] for s in summaries)
    redelivered = sum(s["redelivered"] for s in summaries)
    return (
        f"| {n} | {open_loop.sent / open_loop.publish_s:.0f} | {open_loop.throughput:.0f} "
        f"| {pct(ol, 50):.1f} | {pct(ol, 95):.1f} | {pct(ol, 99):.1f} | {max(ol):.0f} "
        f"| {sat.sent / sat.publish_s:,.0f} | **{sat.throughput:.0f}** "
        f"| {pct(sl, 50) / 1000:.1f} / {max(sl) / 1000:.1f} "
        f"| {open_loop.missing + sat.missing} / {dead} / {redelivered} |"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rate", type=float, default=300.0, help="open-loop events per second")
    ap.add_argument("--seconds", type=float, default=20.0, help="open-loop duration")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--concurrency", type=int, default=8, help="events in flight per worker")
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--burst", type=int, default=3000, help="saturation: events published at once")
    ap.add_argument("--drain-timeout", type=float, default=90.0)
    args = ap.parse_args()
    args.rate = min(max(args.rate, 1.0), 5000.0)
    args.seconds = min(max(args.seconds, 1.0), 120.0)
    args.burst = min(max(args.burst, 100), 20_000)
    wanted = args.warmup + int(args.rate * args.seconds) + args.burst
    events = _unique(generate(wanted, seed=17))[:wanted]
    print(machine())
    print(
        f"NATS {NATS_URL}, PostgreSQL + Redis (db 13); playbook {PLAYBOOK.name}; "
        f"{args.concurrency} in flight per worker; open loop {args.rate:.0f}/s for "
        f"{args.seconds:.0f} s, then a burst of {args.burst:,}"
    )
    rows = []
    with tempfile.TemporaryDirectory(prefix="rl-stream-") as tmp:
        for n in args.workers:
            rows.append(run_one(n, events, args, tmp))
            print(rows[-1], flush=True)
    print(
        "\n| workers | published/s | decisions/s | p50 ms | p95 ms | p99 ms | max ms "
        "| burst published/s | burst drained decisions/s | burst wait p50 / max s "
        "| missing / dead / redelivered |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
