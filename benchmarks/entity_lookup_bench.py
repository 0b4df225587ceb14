"""The decisions about one customer: a scan of the event JSON against the entity index.

Decides ``--events`` card payments in process (each customer pays 4 times; one in twenty
payments carries a device), then times ``stats.decisions_of`` for customers, newest 10, on
three paths: the query before the index (the events' JSON within the last 7 days of
decisions), the index before it has caught up (everything is tail, matched in JSON), and the
index after ``EntityIndexer.catch_up`` (how fast that runs is reported too). SQLite by
default; ``--postgres URL`` for a throwaway database (``ANALYZE``d once indexed, as
autovacuum would soon be on a live one).

Run: .venv/bin/python benchmarks/entity_lookup_bench.py [--events 20000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import String, and_, cast, select, text

from benchmarks.import_throughput import machine
from riskloop.adapters.sql.entity_index import SqlEntityIndex
from riskloop.adapters.sql.schema import decisions, event_log
from riskloop.bootstrap import Riskloop, build
from riskloop.config import Settings
from riskloop.entrypoints.web import stats
from riskloop.service.entity_index import EntityIndexer
from tests.support.factories import card_payment
from tests.support.postgres import throwaway_database
from tests.support.streams import luhn_complete


def populate(rl: Riskloop, n: int) -> list[str]:
    rng = random.Random(7)
    customers = [f"cus-{i:06d}" for i in range(n // 4)]
    cards = [luhn_complete("4111", 16, rng) for _ in range(5000)]
    start = datetime.now(UTC) - timedelta(hours=12)
    for i in range(n):
        extra = {"device": {"id": f"dev-{i % 997}"}} if i % 20 == 0 else {}
        rl.decisions.decide(
            card_payment(
                event_id=f"e-{i:07d}",
                occurred_at=(start + timedelta(seconds=i)).isoformat(),
                customer_id=customers[i % len(customers)],
                card={"pan": cards[i % len(cards)]},
                amount=rng.randint(100, 90_000),
                **extra,
            )
        )
    return customers


def old_query(rl: Riskloop, key: str, now: datetime) -> int:
    """``decisions_of`` for a customer as it was before the entity index."""
    value = event_log.c.data[("customer_id",)].as_string()
    q = (
        select(decisions.c.body)
        .select_from(decisions.join(event_log, event_log.c.event_id == decisions.c.event_id))
        .where(and_(cast(value, String) == key, decisions.c.decided_at >= now - timedelta(7)))
        .order_by(decisions.c.decided_at.desc())
        .limit(10)
    )
    with rl.engine.connect() as conn:
        return len(conn.execute(q).all())


def timed(call: Callable[[str], object], keys: list[str]) -> tuple[float, float]:
    out = []
    for key in keys:
        t = time.perf_counter()
        call(key)
        out.append((time.perf_counter() - t) * 1e3)
    return statistics.median(out), max(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--lookups", type=int, default=30)
    parser.add_argument("--postgres", help="an admin URL: a throwaway database is made there")
    args = parser.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        env = {"RISKLOOP_DATA_DIR": tmp}
        if args.postgres:
            made = throwaway_database(args.postgres, prefix="riskloop_bench")
            env["RISKLOOP_DATABASE_URL"] = stack.enter_context(made)
        rl = build(Settings.from_env(env))
        stack.callback(rl.close)  # before the database is dropped
        t = time.perf_counter()
        customers = populate(rl, args.events)
        print(f"decided {args.events:,} events in {time.perf_counter() - t:.1f} s")
        now = datetime.now(UTC) + timedelta(minutes=1)
        keys = random.Random(1).sample(customers, args.lookups)

        def new(key: str) -> int:
            return len(stats.decisions_of(rl.engine, "customer", key, now=now))

        before = timed(lambda k: old_query(rl, k, now), keys)
        rows = [("before the index: JSON within 7 days", before)]
        rows.append(("entity index, nothing indexed yet (all tail)", timed(new, keys)))
        indexer = EntityIndexer(rl.events, SqlEntityIndex(rl.engine), lag=timedelta(0))
        t = time.perf_counter()
        done = indexer.catch_up(rounds=10_000)
        spent = time.perf_counter() - t
        if args.postgres:  # as autovacuum would soon: the planner's figures for new rows
            with rl.engine.connect() as conn:
                conn.execute(text("ANALYZE"))
        rows.append(("entity index, caught up", timed(new, keys)))
        print(f"catch-up: {done:,} events in {spent:.2f} s ({done / spent:,.0f} events/s)")
        print("\n| customer's newest 10 decisions | p50 ms | max ms |\n|---|---|---|")
        for label, (p50, worst) in rows:
            print(f"| {label} | {p50:.2f} | {worst:.2f} |")


if __name__ == "__main__":
    main()
