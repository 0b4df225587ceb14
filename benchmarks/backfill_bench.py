"""The whole `riskloop features backfill` path on a long payment history (issue 3 aim: 1.75
million payments with 20+ windowed features in under two minutes on this machine).

Builds a SQLite event log of N generated payments once (kept in --dir for re-runs), then
times the backfill with 1 and with 2 processes.

Run: .venv/bin/python benchmarks/backfill_bench.py [--payments N] [--dir PATH]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.features_bench import machine
from riskloop.bootstrap import build
from riskloop.config import Settings
from riskloop.entrypoints.backfill import backfill
from riskloop.features import load_feature_set
from tests.support.streams import generate


@dataclass(frozen=True)
class _Line:
    line: int
    value: Any
    error: str | None = None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--payments", type=int, default=1_750_000)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/riskloop-backfill-bench"))
    ap.add_argument("--workers", default="1,2", help="process counts to time, e.g. 1,2")
    args = ap.parse_args()
    print(f"machine: {machine()}")
    settings = Settings.from_env(
        {"RISKLOOP_DATA_DIR": str(args.dir), "RISKLOOP_SQLITE_SYNCHRONOUS": "NORMAL"}
    )
    rl = build(settings, rebuild_features=False)
    have = rl.events.count()
    if have < args.payments:
        # ~82% of generated events are payments; generate enough, keep payments only.
        events = [
            e
            for e in generate(int(args.payments / 0.82) + 1000, seed=17, days=60)
            if e["event_type"] in ("card_payment", "dispute")
        ]
        t0 = time.perf_counter()
        s = rl.ingestor.import_records(
            (_Line(i, e) for i, e in enumerate(events)), source="bench", batch_size=5000
        )
        print(f"built the log: {s.accepted} events in {time.perf_counter() - t0:.0f} s")
    total = rl.events.count()
    rl.close()
    fs = load_feature_set()
    windowed = [f for f in fs.features if f.window_s and "card_payment" in f.outputs_for]
    print(
        f"log: {total} events; {len(fs.names_for('card_payment'))} features per payment, "
        f"{len(windowed)} windowed"
    )
    print("\n| processes | seconds | events/s |\n|---|---|---|")
    for workers in (int(w) for w in args.workers.split(",")):
        out = args.dir / f"features-{workers}.parquet"
        t0 = time.perf_counter()
        stats = backfill(settings, fs, out, workers=workers)
        dt = time.perf_counter() - t0
        print(f"| {workers} | {dt:.0f} | {stats.events / dt:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
