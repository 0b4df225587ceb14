"""Credit decisions end to end (issue 11): the German credit applicants the model never saw
(the held-out 30 %), turned back into ``credit_application`` events and decided through
the decision path of an embedded riskloop with the example playbook and a credit model
trained and promoted as a user would (``riskloop credit train --promote``).

Prints the outcomes against what the applicants did (bad rate of the approved and the
declined), the grades and counter-offers, the decision latency, and the notices of sample
declines: the reasons an applicant reads, from what decided it.

Run: .venv/bin/python -m benchmarks.credit_decisions [--kind lightgbm|scorecard] [--notices 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.import_throughput import machine
from riskloop.bootstrap import build
from riskloop.config import Settings
from riskloop.service.catalog import PlaybookLoader
from riskloop.training.credit import split_rows
from riskloop.training.credit_data import load_german_credit
from riskloop.training.credit_german import as_applications
from riskloop.training.credit_replay import application_event

PLAYBOOK = Path(__file__).resolve().parents[1] / "examples" / "playbook.yaml"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kind", default="lightgbm", choices=("lightgbm", "scorecard"))
    p.add_argument("--notices", type=int, default=3)
    args = p.parse_args()
    print(machine())
    table = as_applications(load_german_credit())
    _, test_rows = split_rows(table.target, seed=7)  # the rows train_credit holds out
    test = table.take(test_rows)
    with tempfile.TemporaryDirectory() as tmp:
        rl = build(Settings.from_env({"RISKLOOP_DATA_DIR": tmp}))
        try:
            PlaybookLoader(rl.catalog).apply(yaml.safe_load(PLAYBOOK.read_text("utf-8")), "bench")
            version, run = rl.credit.train("german", kind=args.kind, author="bench")
            rl.models.promote("credit", version.version, alias="champion", author="b", reason="b")
            test_auc = run.metrics["test"]["roc_auc"]
            print(f"{version.ref} ({version.kind}): test ROC AUC {test_auc:.4f}")
            decided = []
            for row in range(len(test)):
                event = application_event(
                    test.applicant(row), event_id=f"g-{row}", occurred_at="2026-11-28T10:00:00Z"
                )
                d = rl.decisions.decide(event, deadline_ms=10_000)
                decided.append((d.decision, int(test.target[row]), d.latency_us["total"]))
        finally:
            rl.close()
    outcomes = Counter(d.outcome.value for d, _, _ in decided)
    print(f"\n{len(decided)} held-out applicants: {dict(outcomes)}")
    for outcome in ("approve", "review", "decline"):
        bad = [b for d, b, _ in decided if d.outcome.value == outcome]
        if bad:
            share = len(bad) / len(decided)
            print(f"  {outcome}: {len(bad)} ({share:.1%}), bad rate {np.mean(bad):.1%}")
    offers = [
        d.credit.offer
        for d, _, _ in decided
        if d.credit and d.credit.offer and d.outcome.value == "approve"
    ]
    grades = Counter(o.grade for o in offers)
    print(
        f"grades of approvals: {dict(sorted(grades.items()))}; counter-offers: "
        f"{sum(o.counter_offer for o in offers)} of {len(offers)}"
    )
    by = Counter(d.decided_by for d, _, _ in decided if d.outcome.value == "decline")
    print(f"declines decided by: {dict(by)}")
    lat = np.array([t for _, _, t in decided[20:]]) / 1000  # after warm-up
    print(
        f"decision latency (ms, durable record included): p50 {np.percentile(lat, 50):.2f}, "
        f"p95 {np.percentile(lat, 95):.2f}, p99 {np.percentile(lat, 99):.2f}"
    )
    declines = [(d, b) for d, b, _ in decided if d.outcome.value == "decline"]
    for d, b in sorted(declines, key=lambda x: -(x[0].score or 0))[: args.notices]:
        assert d.credit is not None
        assert d.credit.notice is not None
        reasons = "; ".join(r.text for r in d.credit.notice.reasons)
        print(f"\n{d.event_id} (PD {d.score:.3f}, {'bad' if b else 'good'}): {reasons}")


if __name__ == "__main__":
    main()
