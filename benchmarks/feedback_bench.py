"""Feedback-loop benchmark (issue 6), embedded SQLite: how fast labels go in (by event id
and by match keys, through the service as the API and file import use it), how fast the
review queue follows REVIEW decisions, and how long an analyst's verdict with its label
write-back takes.

Run: .venv/bin/python benchmarks/feedback_bench.py [--payments 50000] [--labels 10000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.import_throughput import machine
from riskloop.bootstrap import build
from riskloop.config import Settings

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _payment(i: int, amount: int) -> dict[str, Any]:
    return {
        "event_id": f"pay-{i:07d}",
        "event_type": "card_payment",
        "occurred_at": (T0 + timedelta(seconds=i * 7)).isoformat(),
        "customer_id": f"c-{i % 5000}",
        "amount": amount,
        "currency": "EUR",
        "merchant": {"id": f"m-{i % 300}", "mcc": "5411", "country": "DE"},
        "card": {"token": f"tok-{i % 8000}"},
        "channel": "card_not_present",
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--payments", type=int, default=50_000)
    parser.add_argument("--labels", type=int, default=10_000)
    parser.add_argument("--reviews", type=int, default=2_000)
    args = parser.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        rl = build(Settings.from_env({"RISKLOOP_DATA_DIR": tmp}), rebuild_features=False)
        for start in range(0, args.payments, 1000):
            batch = [_payment(i, 1000 + i % 5000) for i in range(start, start + 1000)]
            rl.ingestor.ingest_batch(batch)
        print(f"{args.payments} payments stored")

        def labels(prefix: str, by_keys: bool) -> list[dict[str, Any]]:
            out = []
            for j in range(args.labels):
                i = (j * 7919) % args.payments
                body: dict[str, Any] = {
                    "label_id": f"{prefix}-{j}",
                    "kind": "chargeback",
                    "network": "visa",
                    "reason_code": "10.4",
                    "reported_at": (T0 + timedelta(days=30)).isoformat(),
                }
                if by_keys:
                    p = _payment(i, 1000 + i % 5000)
                    day = (T0 + timedelta(seconds=i * 7)).date().isoformat()
                    body["match"] = {
                        "card": p["card"],
                        "amount": p["amount"],
                        "currency": "EUR",
                        "on": day,
                    }
                else:
                    body["event_id"] = f"pay-{i:07d}"
                out.append(body)
            return out

        for name, by_keys in (("by event id", False), ("by match keys", True)):
            bodies = labels("k" if by_keys else "e", by_keys)
            started = time.perf_counter()
            for start in range(0, len(bodies), 500):
                rl.labels.submit_batch(bodies[start : start + 500])
            took = time.perf_counter() - started
            print(f"labels {name}: {len(bodies) / took:,.0f} labels/s (batches of 500)")

        one = []
        for j in range(300):
            body = labels("s", False)[j]
            t = time.perf_counter()
            rl.labels.submit(body)
            one.append((time.perf_counter() - t) * 1e3)
        print(
            f"one label per request: p50 {statistics.median(one):.2f} ms, "
            f"p99 {sorted(one)[int(len(one) * 0.99)]:.2f} ms"
        )
        t = time.perf_counter()
        rl.labels.sync()
        print(
            f"full label-index sync over {2 * args.labels + 300} labels: "
            f"{(time.perf_counter() - t) * 1e3:.0f} ms"
        )

        rl.catalog.save_rule(
            {
                "id": "big",
                "expression": "event.amount >= 100000",
                "action": "review",
                "reason": "LARGE",
                "event_types": ["card_payment"],
                "author": "bench",
            }
        )
        rl.catalog.save_policy({"id": "cards", "event_types": ["card_payment"], "author": "b"})
        rl.catalog.refresh(force=True)
        for k in range(args.reviews):
            rl.decisions.decide(_payment(args.payments + k, 150_000))
        t = time.perf_counter()
        report = rl.cases.sync()
        took = time.perf_counter() - t
        print(
            f"case sync: {args.reviews} review decisions -> {report.opened} cases opened, "
            f"{report.joined} joined in {took:.2f} s ({args.reviews / took:,.0f} decisions/s)"
        )
        t = time.perf_counter()
        idle = rl.cases.sync()
        print(f"idle case sync (nothing new): {(time.perf_counter() - t) * 1e3:.1f} ms {idle}")
        times = []
        for case in rl.cases.search(status=["open"], limit=200):
            t = time.perf_counter()
            rl.cases.claim(case.case_id, "ana")
            rl.cases.resolve(case.case_id, actor="ana", resolution="fraud")
            times.append((time.perf_counter() - t) * 1e3)
        p99 = sorted(times)[int(len(times) * 0.99)]
        print(
            f"claim + resolve + label write-back ({len(times)} cases): "
            f"p50 {statistics.median(times):.1f} ms, p99 {p99:.1f} ms"
        )
        rl.close()


if __name__ == "__main__":
    main()
