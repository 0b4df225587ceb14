"""Outbox benchmark (issue 10, part 1): what the outbox row, written in the decision record's
transaction when ``RISKLOOP_BUS=nats``, adds to the decision path; and how fast one relay
publishes a backlog to NATS JetStream on loopback.

1. ledger write: ``SqlDecisionLedger.record(decision)``, one at a time (each its own durable
   commit), without the outbox (the in-process bus) and with it, on SQLite (WAL,
   ``synchronous=FULL``) and on PostgreSQL (a throwaway database; skipped if unreachable);
   real decision records of the example playbook, the two ledgers on one database, taking
   turns in blocks of 250 so that drift hits both alike;
2. whole decide(): ``rl.decisions.decide(event)`` in-process on the embedded store with the
   example playbook, publishing off and on (two data dirs, the same events, blocks of 250
   in turn); p50 / p95 / p99 of the call and of its ``record`` stage;
3. relay: the outbox that run 2 left (one row per decision) published by one relay
   (``riskloop relay --once``'s code) to a throwaway stream: messages per second, each
   acknowledged by JetStream and then deleted.

Run: .venv/bin/python benchmarks/outbox_bench.py [--events N] [--records N] [--no-postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from benchmarks.import_throughput import machine
from riskloop.adapters.sql import SqlDecisionLedger, make_engine, upgrade
from riskloop.bootstrap import Riskloop, build, outbox_relay
from riskloop.config import Settings
from riskloop.ledger.records import Decision, new_decision_id
from riskloop.service.bus import BusError, Subjects
from riskloop.service.catalog import PlaybookLoader
from tests.support.streams import generate

ROOT = Path(__file__).resolve().parents[1]
PLAYBOOK = ROOT / "examples" / "playbook.yaml"
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
NATS_URL = "nats://127.0.0.1:4222"  # loopback only
BLOCK = 250


def pct(values: list[float], q: float) -> float:
    xs = sorted(values)
    return xs[min(len(xs) - 1, int(q / 100 * len(xs)))]


def summary(us: list[float]) -> str:
    return (
        f"p50 {pct(us, 50):7.0f}  p95 {pct(us, 95):7.0f}  p99 {pct(us, 99):7.0f}  "
        f"mean {sum(us) / len(us):7.0f} µs"
    )


def _unique(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[str] = set()
    return [e for e in events if not (e["event_id"] in seen or seen.add(e["event_id"]))]


def _app(data_dir: Path, env: dict[str, str]) -> Riskloop:
    rl = build(Settings.from_env({"RISKLOOP_DATA_DIR": str(data_dir), **env}))
    PlaybookLoader(rl.catalog).apply(yaml.safe_load(PLAYBOOK.read_text()), "bench")
    return rl


def _turns(n: int, run: Callable[[str, int], None], names: tuple[str, str]) -> None:
    """``run(name, i)`` for i < n, the two names taking turns in blocks of ``BLOCK``."""
    for start in range(0, n, BLOCK):
        for name in names:
            for i in range(start, min(n, start + BLOCK)):
                run(name, i)


# -- 1. the ledger write ---------------------------------------------------------------------


def ledger_writes(url: str, records: list[Decision]) -> dict[str, list[float]]:
    engine = make_engine(url)
    upgrade(engine)
    ledgers = {
        "without": SqlDecisionLedger(engine),
        "with outbox": SqlDecisionLedger(engine, outbox=Subjects("rlbench")),
    }
    times: dict[str, list[float]] = {name: [] for name in ledgers}

    def one(name: str, i: int) -> None:
        tag = uuid.uuid4().hex[:12]  # each ledger records its own copy of the decision
        d = replace(records[i], decision_id=new_decision_id(), event_id=f"bench-{tag}")
        t = time.perf_counter()
        ledgers[name].record(d)
        times[name].append((time.perf_counter() - t) * 1e6)

    try:
        _turns(len(records), one, ("without", "with outbox"))
    finally:
        for ledger in ledgers.values():
            ledger.close()
        engine.dispose()
    return times


def _postgres_url() -> tuple[str, Callable[[], None]] | None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"riskloop_bench_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError:
        admin.dispose()
        return None

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", drop


# -- 2. the whole decision -------------------------------------------------------------------


def decisions(
    tmp: Path, events: list[dict[str, Any]], warm: int, nats_env: dict[str, str]
) -> tuple[dict[str, dict[str, list[float]]], Riskloop, list[Decision]]:
    apps = {"off": _app(tmp / "off", {}), "on": _app(tmp / "on", nats_env)}
    times: dict[str, dict[str, list[float]]] = {n: {"total": [], "record": []} for n in apps}
    made: list[Decision] = []
    for e in events[:warm]:  # caches, the model, the first pages of each table
        for rl in apps.values():
            rl.decisions.decide(e)

    def one(name: str, i: int) -> None:
        t = time.perf_counter()
        done = apps[name].decisions.decide(events[warm + i])
        times[name]["total"].append((time.perf_counter() - t) * 1e6)
        times[name]["record"].append(done.latency_us.get("record", 0))
        if name == "off":
            made.append(done.decision)

    _turns(len(events) - warm, one, ("off", "on"))
    apps["off"].close()
    return times, apps["on"], made


# -- 3. the relay ----------------------------------------------------------------------------


def relay(rl: Riskloop) -> tuple[int, float]:
    assert rl.outbox is not None
    depth = rl.outbox.depth()
    t = time.perf_counter()
    stats = asyncio.run(outbox_relay(rl, batch=100).run(once=True))
    seconds = time.perf_counter() - t
    assert stats.published == depth
    assert rl.outbox.depth() == 0
    return depth, seconds


async def _drop_stream(name: str) -> None:
    import nats

    nc = await nats.connect(NATS_URL)
    try:
        await nc.jetstream().delete_stream(name)
    finally:
        await nc.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=3000, help="decisions per setting (run 2)")
    ap.add_argument("--warm", type=int, default=300)
    ap.add_argument("--records", type=int, default=3000, help="ledger writes per setting (1)")
    ap.add_argument("--no-postgres", action="store_true")
    args = ap.parse_args()
    print(machine())
    tag = uuid.uuid4().hex[:8]
    stream = f"RLBENCH_{tag.upper()}"
    nats_env = {
        "RISKLOOP_BUS": "nats",
        "RISKLOOP_NATS_URL": NATS_URL,
        "RISKLOOP_NATS_STREAM": stream,
        "RISKLOOP_NATS_PREFIX": f"rlbench.{tag}",
    }
    events = _unique(generate(args.events + args.warm + 500, seed=11))[: args.events + args.warm]
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        print("\n2. rl.decisions.decide(event), in-process, example playbook, SQLite FULL")
        times, on, made = decisions(tmp, events, args.warm, nats_env)
        for name, label in (("off", "publishing off (memory)"), ("on", "with outbox (nats)")):
            print(f"  {label:28} decide  {summary(times[name]['total'])}")
            print(f"  {'':28} record  {summary(times[name]['record'])}")

        records = (made * (args.records // max(1, len(made)) + 1))[: args.records]
        size = sum(len(str(d.as_dict())) for d in records[:200]) / min(200, len(records))
        print(f"\n1. SqlDecisionLedger.record(), one durable commit each (~{size:,.0f} B records)")
        backends = [("SQLite (WAL, FULL)", f"sqlite:///{tmp}/ledger.db", None)]
        pg = None if args.no_postgres else _postgres_url()
        if pg is not None:
            backends.append(("PostgreSQL", pg[0], pg[1]))
        else:
            print("  (PostgreSQL not measured)")
        for label, url, drop in backends:
            try:
                ledger_times = ledger_writes(url, records)
            finally:
                if drop is not None:
                    drop()
            for name, us in ledger_times.items():
                print(f"  {label:20} {name:12} {summary(us)}")

        print("\n3. one relay, the outbox of run 2, to JetStream on loopback")
        try:
            n, seconds = relay(on)
            print(f"  published {n:,} in {seconds:.2f} s: {n / seconds:,.0f} messages/s")
            asyncio.run(_drop_stream(stream))
        except BusError as exc:
            print(f"  (NATS not reachable: {exc})")
        finally:
            on.close()


if __name__ == "__main__":
    main()
