"""The backtest's plot (matplotlib OO API, headless, PNG): the outcome mix of production and
the candidate side by side, and each candidate rule's precision against its recall (the
marker's size is its hit count), so the rule that changed stands out."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from matplotlib.figure import Figure

from riskloop.release.compare import OUTCOMES


def backtest_png(report: Mapping[str, Any]) -> bytes:
    fig = Figure(figsize=(10, 3.8))
    mix, rules = fig.subplots(1, 2)
    width = 0.38
    xs = range(len(OUTCOMES))
    for offset, side in ((-width / 2, "baseline"), (width / 2, "candidate")):
        counts = [report[side]["outcomes"][o] for o in OUTCOMES]
        bars = mix.bar([x + offset for x in xs], counts, width, label=side)
        mix.bar_label(bars, fontsize=7)
    mix.set_xticks(list(xs), list(OUTCOMES))
    mix.set_ylabel("events")
    mix.set_title(f"Outcomes over {report['events']:,} events")
    mix.legend()
    shown = [r for r in report["rules"] if r["precision"] is not None][:30]
    changed = set(report.get("candidate_changed_rules") or ())
    for r in shown:
        colour = "tab:red" if r["rule"] in changed else "tab:blue"
        size = 20 + 200 * (r["hits"] / max(1, report["events"])) ** 0.5
        rules.scatter(r["recall"] or 0, r["precision"], s=size, color=colour, alpha=0.7)
        rules.annotate(r["rule"], (r["recall"] or 0, r["precision"]), fontsize=7)
    rules.set_xlabel("recall (share of labelled fraud the rule hits)")
    rules.set_ylabel("precision")
    rules.set_xlim(-0.02, 1.02)
    rules.set_ylim(-0.02, 1.02)
    rules.set_title("Candidate rules (red: changed)")
    rules.grid(alpha=0.3)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()
