"""Training benchmark (issue 5): time and peak memory of ``riskloop.training.run.train`` on
1 million+ labelled card payments, stage by stage, and single-event scoring latency of the
trained model with its top-4 reasons (exact TreeSHAP), in-process.

The world comes from ``tests/support/fraud_world.py`` (three fraud patterns, chargebacks
days later). Events are turned into stored events the way the vault would store them (the
card number replaced by a keyed token) without the vault's validation cost, which is the
import benchmark's subject, not this one's.

Run: .venv/bin/python benchmarks/training_bench.py [--customers 16000] [--days 60]
"""

from __future__ import annotations

import argparse
import hashlib
import resource
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.import_throughput import machine
from riskloop.domain.events import StoredEvent
from riskloop.features import load_feature_set
from riskloop.training.dataset import build_training_set
from riskloop.training.fit import fit
from riskloop.training.metrics import evaluate
from riskloop.training.split import time_split
from tests.support.fraud_world import generate_world


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def stored(events: list[dict[str, Any]]) -> list[StoredEvent]:
    out = []
    for i, e in enumerate(events, start=1):
        data = dict(e)
        card = data.pop("card")
        token = "tok_" + hashlib.blake2b(card["pan"].encode(), digest_size=16).hexdigest()
        data["card"] = {"token": token, "bin": card["pan"][:8], "last4": card["pan"][-4:]}
        data.pop("email", None)
        out.append(
            StoredEvent(
                event_id=data["event_id"],
                event_type=data["event_type"],
                schema_version=1,
                occurred_at=datetime.fromisoformat(data["occurred_at"].replace("Z", "+00:00")),
                data=data,
                pii=None,
                fingerprint="",
                source="bench",
                seq=i,
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=16_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--score-rows", type=int, default=20_000)
    args = parser.parse_args()
    print(machine())

    t = time.perf_counter()
    world = generate_world(customers=args.customers, days=args.days, seed=3)
    log = stored(world.events)
    del world.events
    print(f"world: {len(log):,} events in {time.perf_counter() - t:.1f} s, peak {peak_mb():.0f} MB")

    fs = load_feature_set(None)
    t = time.perf_counter()
    data = build_training_set(
        log,
        fs,
        event_type="card_payment",
        cutoff=world.end + timedelta(days=14),
        maturity=timedelta(days=14),
    )
    build_s = time.perf_counter() - t
    print(
        f"point-in-time set: {len(data):,} rows x {len(data.features)} features, "
        f"{data.positives:,} fraud, {build_s:.1f} s ({len(log) / build_s:,.0f} events/s), "
        f"peak {peak_mb():.0f} MB"
    )
    del log

    split = time_split(data.occurred_ms, data.y, test_days=14, gap_days=3)
    train_set, test = data.subset(split.train), data.subset(split.test)
    for kind in ("lightgbm", "logistic"):
        t = time.perf_counter()
        model = fit(kind, train_set.x, train_set.y, data.features, seed=7)  # type: ignore[arg-type]
        fit_s = time.perf_counter() - t
        t = time.perf_counter()
        figures = evaluate(model.predict(test.x), test)
        eval_s = time.perf_counter() - t
        print(
            f"{kind}: fit {fit_s:.1f} s on {len(train_set):,} rows {model.info}, evaluate "
            f"{eval_s:.1f} s on {len(test):,} rows; ROC AUC {figures['roc_auc']}, AP "
            f"{figures['average_precision']}; peak {peak_mb():.0f} MB"
        )
        if kind == "lightgbm":
            single_event(model.artifact, data.features, test.x[: args.score_rows])
    # The decision benchmark's size: 300 trees, whatever early stopping would choose.
    big = fit(
        "lightgbm",
        train_set.x,
        train_set.y,
        data.features,
        seed=7,
        params={"num_boost_round": 300, "early_stopping_rounds": 0},
    )
    single_event(big.artifact, data.features, test.x[: args.score_rows])


def single_event(artifact: bytes, names: list[str], rows: np.ndarray) -> None:
    import lightgbm

    from riskloop.adapters.lightgbm_scorer import LightGBMScorer

    scorer = LightGBMScorer(lightgbm.Booster(model_str=artifact.decode()), name="bench")
    vectors = [
        {n: (None if np.isnan(v) else float(v)) for n, v in zip(names, row, strict=True)}
        for row in rows
    ]
    for v in vectors[:500]:
        scorer.score(v, top_k=4)
    times = []
    for v in vectors:
        t = time.perf_counter_ns()
        scorer.score(v, top_k=4)
        times.append(time.perf_counter_ns() - t)
    us = np.array(times) / 1000
    trees = scorer.booster.num_trees()
    print(
        f"single-event score + top-4 reasons ({trees} trees, {len(names)} features): "
        f"p50 {np.percentile(us, 50):.0f} us, p95 {np.percentile(us, 95):.0f} us, "
        f"p99 {np.percentile(us, 99):.0f} us over {len(us):,} events"
    )


if __name__ == "__main__":
    main()
