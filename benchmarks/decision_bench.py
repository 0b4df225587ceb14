"""Decision benchmark (issue 4): 50 active CEL rules on card payments, the default feature
set, a 300-tree LightGBM model with top-4 reasons, and a durable record (SQLite WAL,
``synchronous=FULL``: the record's commit is flushed to disk before the answer).

1. in-process: ``rl.decisions.decide(event)`` one at a time on live traffic after a warm
   history; p50 / p95 / p99 of the whole call and of each stage;
2. HTTP: ``riskloop serve`` (1 uvicorn worker) on loopback, an open-loop load at 500
   decisions/s (latency from each request's due time), then a closed loop with 32
   connections for the maximum throughput. The load generator shares the two cores.

Run: .venv/bin/python benchmarks/decision_bench.py [--history N] [--live N] [--rate R]
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
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import orjson
import yaml

from benchmarks import loadgen
from benchmarks.import_throughput import machine
from riskloop.adapters.lightgbm_train import train_demo_booster
from riskloop.bootstrap import build
from riskloop.config import Settings
from riskloop.service.catalog import PlaybookLoader
from tests.support.streams import generate

ROOT = Path(__file__).resolve().parents[1]
PLAYBOOK = ROOT / "examples" / "playbook.yaml"
STAGES = ("intake", "store_and_features", "lists", "model", "rules", "policy", "record")


def extra_rules(n: int) -> list[dict[str, Any]]:
    """Rules of the shapes teams write: thresholds on features, field tests, combinations.
    Thresholds are high so they rarely hit (hits are cheap; evaluation is what is timed)."""
    shapes = [
        "features.card_count_24h > {k}",
        "features.card_amount_sum_24h > {k}000000.0",
        "features.customer_distinct_cards_7d > {k} && event.amount > 1000",
        "features.ip_distinct_cards_24h > {k} && event.channel == 'card_not_present'",
        "event.merchant.mcc in ['7995', '5967', '4829'] && event.amount > {k}00000",
        "features.card_distinct_countries_7d > {k} || features.card_distinct_ips_24h > {k}0",
        "event.currency != 'EUR' && features.card_amount_ratio_30d > {k}.0",
        "features.device_distinct_cards_24h > {k} && event.amount > 500",
    ]
    return [
        {
            "id": f"bench_rule_{i:02d}",
            "expression": shapes[i % len(shapes)].format(k=20 + i),
            "reason": f"BENCH_RULE_{i:02d}",
            "action": ["review", "tag", "decline", "challenge"][i % 4],
            "priority": 100 + i,
            "event_types": ["card_payment"],
        }
        for i in range(n)
    ]


def pct(values: list[float], q: float) -> float:
    xs = sorted(values)
    return xs[min(len(xs) - 1, int(q / 100 * len(xs)))]


def prepare(data_dir: Path, history: list[dict[str, Any]], labels: set[str]) -> Path:
    """Store the history, train the model on its card-payment features and chargebacks,
    load the playbook plus generated rules (50 active on card payments)."""
    rl = build(Settings.from_env({"RISKLOOP_DATA_DIR": str(data_dir)}))
    vectors: dict[str, dict[str, Any]] = {}
    rl.features.listeners.append(
        lambda stored, result: (
            vectors.__setitem__(stored.event_id, result.values or {})
            if stored.event_type == "card_payment"
            else None
        )
    )
    for i in range(0, len(history), 1000):
        rl.ingestor.ingest_batch(history[i : i + 1000])
    fraud = labels  # chargebacks of the whole stream: a benchmark needs a model, not rigour
    names = list(rl.features.engine.names_for("card_payment"))
    ids = sorted(vectors)
    x = np.array(
        [
            [
                v if isinstance(v, int | float) else np.nan
                for v in (vectors[i].get(n) for n in names)
            ]
            for i in ids
        ],
        dtype=float,
    )
    y = np.array([1 if i in fraud else 0 for i in ids])
    booster = train_demo_booster(names, x, y, trees=300, leaves=31)
    model = data_dir / "fraud-gbm.txt"
    booster.save_model(str(model))
    doc = yaml.safe_load(PLAYBOOK.read_text("utf-8"))
    on_cards = sum("card_payment" in r["event_types"] for r in doc["rules"])
    doc["rules"] += extra_rules(50 - on_cards)
    PlaybookLoader(rl.catalog).apply(doc, "bench")
    rl.catalog.add_entries("blocked_devices", [{"value": "dev-bad"}], "bench")
    rl.catalog.add_entries("risky_ips", [{"value": "198.51.100.0/24"}], "bench")
    rl.close()
    print(
        f"history {len(history)} events, model: 300 trees on {len(names)} features, "
        f"{int(y.sum())} fraud of {len(y)} payments",
        file=sys.stderr,
    )
    return model


def in_process(data_dir: Path, model: Path, live: list[dict[str, Any]]) -> dict[str, Any]:
    env = {"RISKLOOP_DATA_DIR": str(data_dir), "RISKLOOP_MODEL_PATH": str(model)}
    rl = build(Settings.from_env(env))
    playbook = rl.catalog.playbook()
    active = len(playbook.active["card_payment"].rules)
    totals: list[float] = []
    stages: dict[str, list[float]] = {s: [] for s in STAGES}
    outcomes: dict[str, int] = {}
    for event in live:
        t = time.perf_counter()
        decided = rl.decisions.decide(event)
        totals.append((time.perf_counter() - t) * 1e6)
        d = decided.decision
        outcomes[d.outcome.value] = outcomes.get(d.outcome.value, 0) + 1
        if d.event_type == "card_payment" and not decided.replayed:
            for s in STAGES:
                stages[s].append(decided.latency_us.get(s, 0))
    rl.close()
    return {"rules": active, "totals": totals, "stages": stages, "outcomes": outcomes}


def api_key(env: dict[str, str]) -> str:
    """A key for the load, made as an operator would (every endpoint needs one)."""
    made = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "riskloop"),
            "apikeys",
            "create",
            "bench",
            "--scopes",
            "decisions:write",
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return made.stdout.strip()


def serve(data_dir: Path, model: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "RISKLOOP_DATA_DIR": str(data_dir),
        "RISKLOOP_MODEL_PATH": str(model),
        "RISKLOOP_PORT": str(port),
        "RISKLOOP_LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "riskloop"), "serve"], env=env, stderr=subprocess.DEVNULL
    )
    for _ in range(600):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--history", type=int, default=20_000)
    ap.add_argument("--live", type=int, default=5_000)
    ap.add_argument("--rate", type=float, default=500.0)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--port", type=int, default=8765)
    args = ap.parse_args()
    http_n = int(args.rate * args.seconds) + 40_000
    stream = generate(args.history + args.live + http_n, seed=11)
    history = stream[: args.history]
    live = stream[args.history : args.history + args.live]
    rest = [orjson.dumps(e) for e in stream[args.history + args.live :]]
    with tempfile.TemporaryDirectory(prefix="rl-bench-") as tmp:
        data_dir = Path(tmp)
        labels = {e["original_event_id"] for e in stream if e["event_type"] == "dispute"}
        model = prepare(data_dir, history, labels)
        r = in_process(data_dir, model, live)
        print(f"\n{machine()}\n")
        print(
            f"in-process, {len(r['totals'])} decisions, {r['rules']} active rules on card "
            f"payments, outcomes {r['outcomes']}"
        )
        print("| stage | p50 µs | p95 µs | p99 µs |\n|---|---|---|---|")
        for s, xs in r["stages"].items():
            print(f"| {s} | {pct(xs, 50):.0f} | {pct(xs, 95):.0f} | {pct(xs, 99):.0f} |")
        t = r["totals"]
        print(f"| **decide() total** | {pct(t, 50):.0f} | {pct(t, 95):.0f} | {pct(t, 99):.0f} |")
        key = api_key({**os.environ, "RISKLOOP_DATA_DIR": str(data_dir)})
        proc = serve(data_dir, model, args.port)
        try:
            warm = asyncio.run(
                loadgen.run(
                    "127.0.0.1",
                    args.port,
                    "/v1/decisions",
                    rest[:500],
                    rate=None,
                    duration_s=5,
                    connections=4,
                    key=key,
                )
            )
            rest = rest[500:]
            steady = asyncio.run(
                loadgen.run(
                    "127.0.0.1",
                    args.port,
                    "/v1/decisions",
                    rest,
                    rate=args.rate,
                    duration_s=args.seconds,
                    connections=16,
                    key=key,
                )
            )
            rest = rest[steady.sent :]
            peak = asyncio.run(
                loadgen.run(
                    "127.0.0.1",
                    args.port,
                    "/v1/decisions",
                    rest,
                    rate=None,
                    duration_s=10,
                    connections=32,
                    key=key,
                )
            )
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        print(f"\nHTTP warm-up {len(warm.latencies_ms)} requests")
        print("| load | requests | achieved /s | p50 ms | p95 ms | p99 ms | statuses | errors |")
        print("|---|---|---|---|---|---|---|---|")
        for label, res in (
            (f"open loop {args.rate:.0f}/s", steady),
            ("closed loop, 32 conns", peak),
        ):
            print(
                f"| {label} | {len(res.latencies_ms)} | {res.throughput:.0f} | {res.pct(50):.2f} "
                f"| {res.pct(95):.2f} | {res.pct(99):.2f} | {dict(res.statuses)} | {res.errors} |"
            )


if __name__ == "__main__":
    main()
