"""Stream worker benchmark (issue 10): NATS JetStream on loopback, ``riskloop.service.consume``
in-process on the embedded store (SQLite WAL, ``synchronous=FULL``, in-process features),
the example playbook loaded, realistic simulated traffic (``tests/support/streams``).

1. backlog: N events published first, then one worker (``--concurrency`` in flight)
   drains them: decisions per second, each recorded durably, published and acked;
2. live: an open-loop publisher at ``--rate`` events/s while the worker runs; latency from
   each event's due publish time to the arrival of its decision on
   ``<prefix>.decisions.>`` (a core NATS subscriber in the same process): p50 / p99.

Publisher, subscriber and worker share the process (one event loop, the decisions on the
worker's threads) and the machine's cores with nats-server. The stream and its prefix are
unique to the run and deleted at the end.

Run: .venv/bin/python benchmarks/consume_bench.py [--events N] [--live N] [--rate R]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import orjson
import yaml

from benchmarks.import_throughput import machine
from riskloop.adapters.nats_bus import NatsBus
from riskloop.bootstrap import Riskloop, build
from riskloop.config import Settings
from riskloop.service.bus import Subjects
from riskloop.service.catalog import PlaybookLoader
from riskloop.service.consume import Consumer
from riskloop.service.stream_handlers import ConsumeSummary, decide_with
from tests.support.streams import generate

ROOT = Path(__file__).resolve().parents[1]
PLAYBOOK = ROOT / "examples" / "playbook.yaml"
NATS_URL = "nats://127.0.0.1:4222"  # loopback only


def pct(values: list[float], q: float) -> float:
    xs = sorted(values)
    return xs[min(len(xs) - 1, int(q / 100 * len(xs)))]


def _unique(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The simulator repeats a few events (as clients retry); one of each for timing."""
    seen: set[str] = set()
    out = []
    for e in events:
        if e["event_id"] not in seen:
            seen.add(e["event_id"])
            out.append(e)
    return out


async def backlog(
    rl: Riskloop, bus: NatsBus, subjects: Subjects, events: list[dict[str, Any]], args: Any
) -> tuple[ConsumeSummary, float]:
    t = time.perf_counter()
    for e in events:
        await bus.publish(subjects.event(e["event_type"]), orjson.dumps(e))
    publish_s = time.perf_counter() - t
    consumer = Consumer(
        bus,
        decide_with(rl.decisions, subjects),
        subjects=subjects,
        durable="bench-backlog",
        concurrency=args.concurrency,
        batch=args.batch,
        idle_exit=1.0,
    )
    return await consumer.run(), publish_s


async def live(
    rl: Riskloop, bus: NatsBus, subjects: Subjects, events: list[dict[str, Any]], args: Any
) -> tuple[list[float], ConsumeSummary, float]:
    due: dict[str, float] = {}
    latencies: list[float] = []
    all_in = asyncio.Event()

    async def on_decision(msg: Any) -> None:
        event_id = orjson.loads(msg.data)["event_id"]
        start = due.pop(event_id, None)
        if start is not None:
            latencies.append(time.perf_counter() - start)
            if not due and len(latencies) == len(events):
                all_in.set()

    sub = await bus.nc.subscribe(subjects.decision("*"), cb=on_decision)
    consumer = Consumer(
        bus,
        decide_with(rl.decisions, subjects),
        subjects=subjects,
        durable="bench-live",
        concurrency=args.concurrency,
        batch=args.batch,
    )
    worker = asyncio.create_task(consumer.run())
    await asyncio.sleep(0.5)
    begin = time.perf_counter()
    for i, e in enumerate(events):
        at = begin + i / args.rate
        wait = at - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        due[e["event_id"]] = at  # from the due time: a late publisher counts against us
        await bus.publish(subjects.event(e["event_type"]), orjson.dumps(e))
    await asyncio.wait_for(all_in.wait(), timeout=120)
    elapsed = time.perf_counter() - begin
    consumer.stop()
    summary = await worker
    await sub.unsubscribe()
    return latencies, summary, elapsed


async def _stream(tag: str) -> tuple[NatsBus, Subjects]:
    subjects = Subjects(f"rlbench.{tag}")
    bus = await NatsBus.connect(NATS_URL, stream=f"RLBENCH_{tag.upper()}", subjects=subjects)
    return bus, subjects


async def run(rl: Riskloop, args: Any) -> None:
    events = _unique(generate(args.events + args.live, seed=11))
    first, second = events[: args.events], events[args.events : args.events + args.live]
    tag = uuid.uuid4().hex[:8]
    bus, subjects = await _stream(f"{tag}b")
    try:
        summary, publish_s = await backlog(rl, bus, subjects, first, args)
    finally:
        await bus.js.delete_stream(bus.stream)
        await bus.close()
    print(
        f"backlog: published {len(first):,} in {publish_s:.1f} s "
        f"({len(first) / publish_s:,.0f}/s, each acked by JetStream)"
    )
    print(
        f"backlog: decided {summary.decided:,} (replayed {summary.replayed}, dead-lettered "
        f"{summary.dead_lettered}) in {summary.busy_seconds:.1f} s: "
        f"{summary.rate:,.0f} decisions/s with {args.concurrency} in flight"
    )
    # A stream of its own, so that the live worker group sees only the live events.
    bus, subjects = await _stream(f"{tag}l")
    try:
        lat, live_summary, elapsed = await live(rl, bus, subjects, second, args)
    finally:
        await bus.js.delete_stream(bus.stream)
        await bus.close()
    ms = [x * 1000 for x in lat]
    print(
        f"live: {len(second):,} events at {args.rate:,.0f}/s open loop "
        f"({len(second) / elapsed:,.0f}/s achieved), publish to decision: "
        f"p50 {pct(ms, 50):.1f} ms, p99 {pct(ms, 99):.1f} ms, max {max(ms):.1f} ms "
        f"(decided {live_summary.decided:,})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=5000, help="backlog events (≤ 100,000)")
    parser.add_argument("--live", type=int, default=3000, help="live events (≤ 100,000)")
    parser.add_argument("--rate", type=float, default=200.0, help="live events per second")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()
    args.events = max(1, min(args.events, 100_000))
    args.live = max(1, min(args.live, 100_000))
    print(machine())
    print(f"NATS {NATS_URL}; SQLite synchronous=FULL; playbook {PLAYBOOK.name}")
    with tempfile.TemporaryDirectory() as tmp:
        rl = build(Settings.from_env({"RISKLOOP_DATA_DIR": tmp}))
        try:
            PlaybookLoader(rl.catalog).apply(yaml.safe_load(PLAYBOOK.read_text()), "bench")
            asyncio.run(run(rl, args))
        finally:
            rl.close()


if __name__ == "__main__":
    main()
