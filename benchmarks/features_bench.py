"""Feature store benchmarks (issue 3).

- online: update + read of one event with the default feature set, in-process and on Redis,
  p50 / p99 per event after a warm history;
- backfill: replay throughput of the engine over a long payment history (events/s) and the
  full ``features backfill`` path (event log -> engine -> Parquet);
- memory: resident bytes per tracked entity.

Run: .venv/bin/python benchmarks/features_bench.py [--events N] [--backfill N] [--redis]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
import tracemalloc
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.import_throughput import machine
from riskloop.features import EventInput, FeatureEngine, MemoryState, load_feature_set
from riskloop.intake import validate_event
from riskloop.vault import Keyring, MemoryKeyStore, Vault
from tests.support.streams import generate


def prepared(n: int, seed: int, payments_only: bool = False) -> list[EventInput]:
    vault = Vault(Keyring.open(MemoryKeyStore()))
    out = []
    for payload in generate(n, seed=seed):
        if payload["event_type"] == "dispute" or (
            payments_only and payload["event_type"] != "card_payment"
        ):
            continue
        s = vault.protect(validate_event(payload), source="bench")
        out.append(EventInput.of(s.event_id, s.event_type, s.occurred_at, s.data))
    return out


def pct(values: list[float], q: float) -> float:
    return (
        statistics.quantiles(values, n=1000)[int(q * 10) - 1] if len(values) > 10 else max(values)
    )


def online(engine: FeatureEngine, events: list[EventInput], warm: int) -> dict[str, Any]:
    for e in events[:warm]:
        engine.process(e)
    times = []
    payments = []
    for e in events[warm:]:
        t0 = time.perf_counter_ns()
        engine.process(e)
        dt = (time.perf_counter_ns() - t0) / 1000
        times.append(dt)
        if e.event_type == "card_payment":
            payments.append(dt)
    return {
        "events": len(times),
        "p50_us": statistics.median(times),
        "p99_us": pct(times, 99),
        "payment_p50_us": statistics.median(payments),
        "payment_p99_us": pct(payments, 99),
    }


def backfill_rate(events: list[EventInput]) -> tuple[float, float]:
    engine = FeatureEngine(load_feature_set(), MemoryState())
    gc.collect()
    t0 = time.perf_counter()
    for e in events:
        engine.process(e)
    dt = time.perf_counter() - t0
    return len(events) / dt, dt


def memory_per_entity(events: list[EventInput]) -> tuple[int, float]:
    tracemalloc.start()
    state = MemoryState()
    engine = FeatureEngine(load_feature_set(), state)
    base = tracemalloc.get_traced_memory()[0]
    for e in events:
        engine.process(e)
    used = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    return state.entities, used / max(state.entities, 1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=60_000, help="stream for the online figures")
    ap.add_argument("--backfill", type=int, default=300_000, help="payments for the backfill rate")
    ap.add_argument("--redis", action="store_true", help="also measure the Redis state")
    args = ap.parse_args()
    fs = load_feature_set()
    print(f"machine: {machine()}")
    print(
        f"feature set: {fs.version_id}, {len(fs.features)} features, "
        f"{len(fs.names_for('card_payment'))} per card payment"
    )
    events = prepared(args.events, seed=21)
    warm = len(events) // 2
    rows = [("in-process", online(FeatureEngine(fs, MemoryState()), events, warm))]
    if args.redis:
        from riskloop.adapters.redis_features import RedisState

        prefix = f"rl:bench:{uuid.uuid4().hex[:8]}:"
        state = RedisState.connect("redis://127.0.0.1:6379/0", prefix=prefix)
        try:
            rows.append(("redis", online(FeatureEngine(fs, state), events, warm)))
        finally:
            state.reset()
            state.close()
    print(
        "\n| state | events timed | p50 µs | p99 µs | card payment p50 µs | card payment p99 µs |"
    )
    print("|---|---|---|---|---|---|")
    for name, r in rows:
        print(
            f"| {name} | {r['events']} | {r['p50_us']:.0f} | {r['p99_us']:.0f} | "
            f"{r['payment_p50_us']:.0f} | {r['payment_p99_us']:.0f} |"
        )
    entities, per = memory_per_entity(events)
    print(f"\nmemory: {entities} entities tracked, {per:.0f} bytes per entity (tracemalloc)")
    history = prepared(args.backfill, seed=22, payments_only=True)
    rate, dt = backfill_rate(history)
    print(
        f"\nbackfill (engine replay): {len(history)} payments in {dt:.1f} s"
        f" = {rate:,.0f} events/s; "
        f"1.75 M payments would take {1_750_000 / rate:.0f} s"
    )


if __name__ == "__main__":
    main()
