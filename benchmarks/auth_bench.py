"""What authentication and authorisation cost a request (issue 9).

In process, through the ASGI app on one event loop (httpx's ASGI transport: no sockets, so
the figure is the app's own work): two trivial handlers, the open ``GET /healthz`` and
``GET /v1/me``, which needs a principal, with an API key (cached after its first check, as
on the hot path) and with a dashboard session cookie (a database lookup per request). The
difference is what authentication and authorisation add. Also the cost of one login
(argon2id) and of a key's first check (a database read).

Run: .venv/bin/python benchmarks/auth_bench.py [--n 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import pyotp

from benchmarks.import_throughput import machine
from riskloop.bootstrap import build
from riskloop.config import Settings
from riskloop.entrypoints.http import create_app


async def timed(n: int, call: Callable[[], Awaitable[httpx.Response]]) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        status = (await call()).status_code
        out.append((time.perf_counter() - t) * 1e6)
        assert status == 200, status
    return out


async def measure(app: object, n: int, key: str, session: str) -> dict[str, list[float]]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as c:
        auth = {"Authorization": f"Bearer {key}"}
        for _ in range(300):  # warm
            await c.get("/v1/me", headers=auth)
        cookie = {"Cookie": f"riskloop_session={session}"}
        return {
            "GET /healthz (open: no authentication)": await timed(n, lambda: c.get("/healthz")),
            "GET /v1/me with an API key (cached)": await timed(
                n, lambda: c.get("/v1/me", headers=auth)
            ),
            "GET /v1/me with a session cookie": await timed(
                n, lambda: c.get("/v1/me", headers=cookie)
            ),
        }


def row(name: str, xs: list[float]) -> str:
    xs = sorted(xs)
    p99 = xs[int(0.99 * (len(xs) - 1))]
    return f"| {name} | {statistics.median(xs):.0f} | {p99:.0f} |"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=3000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="rl-auth-") as tmp:
        rl = build(Settings.from_env({"RISKLOOP_DATA_DIR": tmp, "RISKLOOP_SCHEDULE": "off"}))
        _, key = rl.access.create_key("bench", ["decisions:read"], actor="bench")
        secret = rl.access.add_user("bench", "analyst", "correct horse battery", actor="bench")
        t = time.perf_counter()
        login = rl.access.login(
            "bench", "correct horse battery", pyotp.TOTP(secret).now(), client="bench"
        )
        login_ms = (time.perf_counter() - t) * 1000
        app = create_app(rl, follow_every_s=3600)  # no lifespan: nothing runs beside
        results = asyncio.run(measure(app, args.n, key, login.session_token))
        first = []
        for _ in range(50):
            _, fresh = rl.access.create_key("bench", ["decisions:read"], actor="bench")
            t = time.perf_counter()
            assert rl.access.authenticate_key(fresh) is not None
            first.append((time.perf_counter() - t) * 1e6)
        rl.close()
    print(machine())
    print(f"\n{args.n} requests each, in process (ASGI, no sockets)\n")
    print("| request | p50 µs | p99 µs |\n|---|---|---|")
    for name, xs in results.items():
        print(row(name, xs))
    print(row("a key's first check (database read), alone", first))
    print(f"\none login (argon2id verify + TOTP + session insert): {login_ms:.0f} ms")


if __name__ == "__main__":
    main()
