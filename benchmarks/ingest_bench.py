"""Import throughput (issue 2): events/s from an NDJSON file into the event log, through the
whole ingestion path (read, validate, vault, idempotent append, online features), for SQLite
(the embedded default) and PostgreSQL; plus a per-stage breakdown in µs per event.

Run: .venv/bin/python benchmarks/ingest_bench.py [--events N] [--backend sqlite|postgres|both]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

import orjson
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.features_bench import machine
from riskloop.adapters.files import read_records
from riskloop.bootstrap import build
from riskloop.config import Settings
from riskloop.intake import validate_event
from tests.support.streams import generate

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _import(settings: Settings, src: Path, batch: int) -> tuple[float, float, int]:
    rl = build(settings, rebuild_features=False)
    try:
        t0 = time.perf_counter()
        first = rl.ingestor.import_records(
            read_records(src, "ndjson"), source="bench", batch_size=batch
        )
        t1 = time.perf_counter()
        again = rl.ingestor.import_records(
            read_records(src, "ndjson"), source="bench", batch_size=batch
        )
        t2 = time.perf_counter()
        assert first.accepted > 0
        assert again.accepted == 0
        return first.read / (t1 - t0), again.read / (t2 - t1), first.read
    finally:
        rl.close()


def _stages(settings: Settings, src: Path, n: int = 5000) -> dict[str, float]:
    rl = build(settings, rebuild_features=False)
    try:
        lines = src.read_bytes().splitlines()
        for line in lines[:500]:  # warm up: first calls build pydantic and pycountry caches
            rl.vault.protect(validate_event(orjson.loads(line)), source="warm-up")
        raws = [orjson.loads(line) for line in lines[500 : 500 + n]]
        t0 = time.perf_counter()
        models = [validate_event(r) for r in raws]
        t1 = time.perf_counter()
        stored = [rl.vault.protect(m, source="bench") for m in models]
        t2 = time.perf_counter()
        for i in range(0, len(stored), 1000):
            rl.events.append(stored[i : i + 1000], atomic=False)
        t3 = time.perf_counter()
        for s in stored:
            rl.features.observe(s)
        t4 = time.perf_counter()
        per = 1e6 / len(raws)
        return {
            "json decode + validate": (t1 - t0) * per,
            "vault": (t2 - t1) * per,
            "append (1000/txn)": (t3 - t2) * per,
            "online features": (t4 - t3) * per,
        }
    finally:
        rl.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--batch-size", type=int, default=1000)
    ap.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    args = ap.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "events.ndjson"
        events = generate(args.events, seed=3)
        src.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
        print(
            f"{len(events)} events"
            " (payments with raw PANs, logins, transfers, disputes, duplicates)"
        )
        rows = []
        if args.backend in ("sqlite", "both"):
            s = Settings.from_env({"RISKLOOP_DATA_DIR": str(Path(tmp) / "sqlite")})
            rows.append(("SQLite (WAL, synchronous=FULL)", *_import(s, src, args.batch_size)))
            stages = _stages(
                Settings.from_env({"RISKLOOP_DATA_DIR": str(Path(tmp) / "stages")}), src
            )
        if args.backend in ("postgres", "both"):
            name = f"riskloop_bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                c.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                s = Settings.from_env(
                    {
                        "RISKLOOP_DATA_DIR": str(Path(tmp) / "pg"),
                        "RISKLOOP_DATABASE_URL": PG_ADMIN.rsplit("/", 1)[0] + "/" + name,
                    }
                )
                rows.append(("PostgreSQL 15 (loopback)", *_import(s, src, args.batch_size)))
            finally:
                with admin.connect() as c:
                    c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
    print("\n| store | events | first import events/s | re-import (all duplicates) events/s |")
    print("|---|---|---|---|")
    for name, first, again, n in rows:
        print(f"| {name} | {n} | {first:,.0f} | {again:,.0f} |")
    if args.backend in ("sqlite", "both"):
        print("\n| stage (SQLite) | µs per event |")
        print("|---|---|")
        for k, v in stages.items():
            print(f"| {k} | {v:.1f} |")
    print(f"\npeak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
