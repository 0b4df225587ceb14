"""Decisions over HTTP with 1, 2 and 4 server processes (issue 10): the embedded store (one
process: SQLite and in-process features) against PostgreSQL + Redis with
`riskloop serve --workers N`. The example playbook, the built-in model, simulated card
traffic; the load generator (benchmarks/loadgen.py) shares the machine's cores with the
servers, PostgreSQL and Redis, so on 2 cores more workers mostly buy fairness, not speed.

For each setting: a warm-up, an open loop at --rate (latency from each request's due time)
and a closed loop with 32 connections (the most it takes).

Run: .venv/bin/python -m benchmarks.workers_bench [--rate 200] [--seconds 15] [--workers 1,2,4]
Needs PostgreSQL on 127.0.0.1:5432 (database created and dropped here) and Redis (db 12,
flushed).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import orjson
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import loadgen
from benchmarks.import_throughput import machine
from tests.support.streams import generate

ROOT = Path(__file__).resolve().parents[1]
RISKLOOP = str(ROOT / ".venv" / "bin" / "riskloop")
PLAYBOOK = ROOT / "examples" / "playbook.yaml"
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/12"


def _wait(port: int, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(900):
        if proc.poll() is not None:
            raise RuntimeError("the server stopped")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def one(
    label: str, env: dict[str, str], workers: int, bodies: list[bytes], args: argparse.Namespace
) -> str:
    full = {**os.environ, **env, "RISKLOOP_LOG_LEVEL": "WARNING", "RISKLOOP_PORT": str(args.port)}
    subprocess.run(
        [RISKLOOP, "rules", "load", str(PLAYBOOK)], env=full, check=True, capture_output=True
    )
    key = subprocess.run(
        [RISKLOOP, "apikeys", "create", "bench", "--scopes", "decisions:write"],
        env=full,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    proc = subprocess.Popen(
        [RISKLOOP, "serve", "--workers", str(workers)], env=full, stderr=subprocess.DEVNULL
    )
    try:
        _wait(args.port, proc)
        run = lambda bs, rate, s, c: asyncio.run(  # noqa: E731
            loadgen.run(
                "127.0.0.1",
                args.port,
                "/v1/decisions",
                bs,
                rate=rate,
                duration_s=s,
                connections=c,
                key=key,
            )
        )
        warm = run(bodies[:1000], None, 5, 8)
        rest = bodies[warm.sent :]
        steady = run(rest, args.rate, args.seconds, 16)
        rest = rest[steady.sent :]
        peak = run(rest, None, args.seconds, 32)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    ok = sum(n for s, n in peak.statuses.items() if s < 300)
    return (
        f"| {label} | {workers} | {steady.pct(50):.1f} | {steady.pct(99):.1f} | "
        f"{ok / peak.elapsed_s:.0f} | {peak.pct(50):.1f} | {peak.pct(99):.1f} | "
        f"{dict(peak.statuses)} |"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--workers", default="1,2,4")
    ap.add_argument("--port", type=int, default=8766)
    args = ap.parse_args()
    counts = [int(w) for w in args.workers.split(",")]
    bodies = [orjson.dumps(e) for e in generate(60_000, seed=13)]
    print(machine())
    rows = []
    with tempfile.TemporaryDirectory(prefix="rl-workers-") as tmp:
        rows.append(
            one(
                "embedded (SQLite, in-process features)",
                {"RISKLOOP_DATA_DIR": f"{tmp}/embedded"},
                1,
                bodies,
                args,
            )
        )
        import redis

        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        for n in counts:
            name = f"riskloop_bench_{uuid.uuid4().hex[:8]}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            redis.Redis.from_url(REDIS_URL).flushdb()
            env = {
                "RISKLOOP_DATA_DIR": f"{tmp}/pg{n}",
                "RISKLOOP_DATABASE_URL": PG_ADMIN.rsplit("/", 1)[0] + f"/{name}",
                "RISKLOOP_FEATURE_STORE": "redis",
                "RISKLOOP_REDIS_URL": REDIS_URL,
            }
            try:
                rows.append(one("PostgreSQL + Redis", env, n, bodies, args))
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()
    print(
        f"\nopen loop {args.rate:.0f}/s, then a closed loop (32 conns), {args.seconds:.0f} s each"
    )
    print(
        "| store | workers | open p50 ms | open p99 ms | closed decisions/s "
        "| closed p50 ms | closed p99 ms | statuses |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
