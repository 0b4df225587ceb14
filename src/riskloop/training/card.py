"""Model cards: what the model is for, what it learnt from, how it does on a later window
(against the baseline), where it is weak (segments, calibration) and what its reason codes
mean. Markdown for the repository and reviews, HTML (plots inlined) for the dashboard."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from riskloop.scoring.port import reason_code
from riskloop.training import plots
from riskloop.training.fit import FittedModel
from riskloop.training.run import TrainResult


def mean_abs_contributions(model: FittedModel, x: np.ndarray, limit: int = 2000) -> np.ndarray:
    """Mean |TreeSHAP| (or |coef * standardised x| for the logistic model) per feature."""
    rows = x[:: max(1, len(x) // limit)]
    if model.kind == "lightgbm":
        import lightgbm

        booster = lightgbm.Booster(model_str=model.artifact.decode())
        contrib = np.asarray(booster.predict(rows, pred_contrib=True, num_threads=2))[:, :-1]
    else:
        import orjson

        from riskloop.training.fit import _standardised

        doc = orjson.loads(model.artifact)
        contrib = _standardised(doc, rows) * np.asarray(doc["coef"])
    return np.asarray(np.abs(contrib).mean(axis=0), dtype=np.float64)


def _pct(v: Any) -> str:
    return "n/a" if v is None else f"{100 * float(v):.1f} %"


def _num(v: Any) -> str:
    return "n/a" if v is None else f"{float(v):.4f}"


def _money(v: float) -> str:
    return f"{v / 100:,.0f}"


def _rate_rows(rates: Sequence[Mapping[str, Any]]) -> list[str]:
    return [
        f"| {_pct(r['rate'])} | {r['threshold']:.4f} | {_pct(r['precision'])} | "
        f"{_pct(r['recall'])} | {_money(r['fraud_amount_caught'])} of "
        f"{_money(r['fraud_amount_total'])} | {_money(r['good_amount_flagged'])} "
        f"({r['good_flagged']}) |"
        for r in rates
    ]


def render_markdown(
    ref: str,
    result: TrainResult,
    descriptions: Mapping[str, str],
    importance: Sequence[float],
) -> str:
    m, lin, test = result.metrics, result.lineage, result.metrics["test"]
    base = m.get("baseline", {}).get("test")
    k_key = next(k for k in test if k.startswith("card_precision_at_"))
    lines = [
        f"# Model card: {ref}",
        "",
        f"A {result.model.kind} model scoring `{result.spec.event_type}` events for fraud, "
        "trained by `riskloop train` on point-in-time features and the labels known at the "
        "cut-off. Scores are probabilities in [0, 1]; reasons are the features that raised "
        "the score most (exact TreeSHAP for LightGBM).",
        "",
        "## Data and lineage",
        "",
        f"- Feature set: `{lin['feature_set']}` ({len(result.model.features)} inputs)",
        f"- Labels known at the cut-off {lin['cutoff']}; events at least "
        f"{lin['maturity_days']:g} days old (label maturity)",
        f"- Train window {lin['train_window'][0]} to {lin['train_window'][1]}, "
        f"gap {lin['gap_days']:g} days, test window {lin['test_window'][0]} "
        f"to {lin['test_window'][1]}",
        f"- Rows: {lin['rows']} ({lin['fraud']} fraud); train {m['train']['events']} "
        f"({m['train']['fraud']} fraud), test {test['events']} ({test['fraud']} fraud)",
        f"- Data snapshot `{lin['data_snapshot']}`, seed {lin['seed']}",
        f"- Code: {', '.join(f'{k} {v}' for k, v in lin['code'].items())}",
        f"- Parameters: `{dict(result.model.params)}`",
        "",
        "## Performance on the later (test) window",
        "",
        "| metric | model | logistic baseline |",
        "|---|---|---|",
        f"| ROC AUC | {_num(test['roc_auc'])} | {_num(base and base['roc_auc'])} |",
        f"| average precision (PR AUC) | {_num(test['average_precision'])} | "
        f"{_num(base and base['average_precision'])} |",
    ]
    for fpr, recall in test["recall_at_fpr"].items():
        other = base["recall_at_fpr"][fpr] if base else None
        lines.append(
            f"| recall at {_pct(float(fpr))} false positives | {_pct(recall)} | {_pct(other)} |"
        )
    lines += [
        f"| card precision@{k_key.rsplit('_', 1)[1]} per day | {_num(test[k_key])} | "
        f"{_num(base and base[k_key])} |",
        f"| Brier score | {_num(test['calibration']['brier'])} | "
        f"{_num(base and base['calibration']['brier'])} |",
        f"| train ROC AUC / average precision | {_num(m['train']['roc_auc'])} / "
        f"{_num(m['train']['average_precision'])} | |",
        "",
        "### At review rates (amounts in major units)",
        "",
        "| reviewed | threshold | precision | recall | fraud amount caught | good amount "
        "flagged (events) |",
        "|---|---|---|---|---|---|",
        *_rate_rows(test["at_review_rates"]),
        "",
        "![precision-recall](pr.png)",
        "",
        "## Calibration",
        "",
        f"Expected calibration error {_num(test['calibration']['expected_calibration_error'])}."
        " Positives are up-weighted in training, so scores run above observed fraud rates: "
        "set policy thresholds from the review-rate table, not as probabilities.",
        "",
        "| decile | mean score | fraud rate | events |",
        "|---|---|---|---|",
        *[
            f"| {i + 1} | {d['mean_score']:.4f} | {d['fraud_rate']:.4f} | {d['n']} |"
            for i, d in enumerate(test["calibration"]["deciles"])
        ],
        "",
        "![calibration](calibration.png)",
        "",
        "## Segments (threshold at a 1 % review rate)",
        "",
    ]
    for segment, rows in test["segments"].items():
        lines += [
            f"**{segment}**",
            "",
            "| value | events | fraud | ROC AUC | recall | flagged |",
            "|---|---|---|---|---|---|",
            *[
                f"| {v} | {r['n']} | {r['fraud']} | {_num(r['roc_auc'])} | "
                f"{_pct(r['recall'])} | {_pct(r['flag_rate'])} |"
                for v, r in rows.items()
            ],
            "",
        ]
    order = np.argsort(importance)[::-1]
    lines += [
        "## Reason codes",
        "",
        "A decision lists up to four reasons: the features that raised its score most.",
        "",
        "| reason code | feature | meaning | mean \\|contribution\\| |",
        "|---|---|---|---|",
        *[
            f"| `{reason_code(result.model.features[i])}` | `{result.model.features[i]}` | "
            f"{descriptions.get(result.model.features[i], '') or '-'} | {importance[i]:.4f} |"
            for i in order
            if importance[i] > 0
        ],
        "",
        "![importance](importance.png)",
        "",
        "## Limits",
        "",
        "- Labels arrive late: fraud on events younger than the maturity window is "
        "undercounted, so recent performance reads low until labels mature.",
        "- Trained on one event type; other event types are scored by their own models or "
        "by rules alone.",
        "",
    ]
    return "\n".join(lines)


def render_plots(result: TrainResult, importance: Sequence[float]) -> dict[str, bytes]:
    curves = {"model": result.test_scores}
    if result.baseline_scores is not None:
        curves["logistic baseline"] = result.baseline_scores
    return {
        "pr.png": plots.pr_curves(result.test.y, curves),
        "calibration.png": plots.calibration(result.metrics["test"]["calibration"]["deciles"]),
        "importance.png": plots.importance(result.model.features, list(importance)),
    }


def render_html(markdown_text: str, images: Mapping[str, bytes]) -> str:
    """A self-contained page: tables and images inline, no scripts (Python-Markdown).

    Python-Markdown passes raw HTML through, and a card quotes text others wrote (feature
    descriptions, parameters): ``&`` and ``<`` are escaped first, so no tag survives."""
    import markdown

    markdown_text = markdown_text.replace("&", "&amp;").replace("<", "&lt;")
    for name, data in images.items():
        uri = "data:image/png;base64," + base64.b64encode(data).decode()
        markdown_text = markdown_text.replace(f"]({name})", f"]({uri})")
    body = markdown.markdown(markdown_text, extensions=["tables"], output_format="html")
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Model card</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;"
        "padding:0 1rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
        "padding:.2rem .5rem;text-align:left}code{background:#f4f4f4}</style></head><body>"
        f"{body}</body></html>"
    )
