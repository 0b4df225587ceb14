"""The model card of a credit training run (``credit_train.CreditTraining``): data and
split, test figures beside the baseline, calibration by decile, the inputs with their
declared directions and the sweep's result, a scorecard's points, fairness by protected
segment, the reasons of sample declines, and the reason codes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from riskloop.training.credit_german import APPLICATION
from riskloop.training.credit_spec import Column
from riskloop.training.credit_train import credit_reason_code
from riskloop.training.fairness import fairness_markdown
from riskloop.training.scorecard import Scorecard

if TYPE_CHECKING:
    from riskloop.training.credit_train import CreditTraining

# ---- the model card -------------------------------------------------------------------------

_TITLES = {
    "credit_lightgbm": "monotone LightGBM model (calibrated, exact TreeSHAP reasons)",
    "credit_scorecard": "logistic scorecard on weight of evidence (PDO points)",
}


def _pct(v: Any) -> str:
    return "n/a" if v is None else f"{100 * float(v):.1f} %"


def _num(v: Any) -> str:
    return "n/a" if v is None else f"{float(v):.4f}"


def _direction(column: Column) -> str:
    if not column.monotone:
        return "free"
    moves = "lowers" if column.monotone > 0 else "raises"
    if column.kind == "ordinal":
        return f"a later level of {' < '.join(column.order)} never {moves} the PD"
    return f"a higher value never {moves} the PD"


def _check_text(report: Mapping[str, Any] | None, dropped: str | None) -> str:
    if dropped:
        return f"not read: {dropped}"
    if report is None:
        return "not checked (no direction)"
    n = report["applicants"]
    if "raw_violations" in report:
        return (
            f"{report['raw_violations']} / {report['calibrated_violations']} of {n} applicants "
            "moved against it (raw / calibrated)"
        )
    return f"{report['violations']} of {n} applicants moved against it"


def _performance(t: CreditTraining) -> list[str]:
    test, train = t.metrics["test"], t.metrics["train"]
    base = t.metrics.get("baseline", {}).get("test")
    rows = [
        ("ROC AUC", "roc_auc"),
        ("Gini", "gini"),
        ("KS", "ks"),
        ("Brier score", "brier"),
        ("expected calibration error", "expected_calibration_error"),
        ("mean PD", "mean_pd"),
    ]
    lines = [
        "| metric | model | scorecard baseline |" if base else "| metric | model |",
        "|---|---|---|" if base else "|---|---|",
    ]
    for label, key in rows:
        other = f" {_num(base[key])} |" if base else ""
        lines.append(f"| {label} | {_num(test[key])} |{other}")
    lines += [
        f"| observed bad rate | {_num(test['bad_rate'])} |" + (" |" if base else ""),
        f"| train ROC AUC | {_num(train['roc_auc'])} |" + (" |" if base else ""),
    ]
    return lines


def _points(t: CreditTraining) -> list[str]:
    card = Scorecard.from_json(t.artifact)
    lines = [
        "## Points table",
        "",
        f"Base points {card.base_points:.1f}; {card.scaling.base_score:g} points at good:bad "
        f"odds of {card.scaling.base_odds:g}:1, {card.scaling.pdo:g} more points double the "
        "odds. An applicant's score is the base points plus one bin's points per input.",
        "",
        "| input | bin | points | WoE | applicants (train) | bad rate (train) |",
        "|---|---|---|---|---|---|",
    ]
    shown: set[str] = set()
    for r in card.points_table():
        name = "" if r["feature"] in shown else card.labels[r["feature"]]
        shown.add(r["feature"])
        lines.append(
            f"| {name} | {r['bin']} | {r['points']:+.1f} | {r['woe']:+.3f} | {r['n']} "
            f"| {r['bad_rate']:.3f} |"
        )
    return [*lines, ""]


def card_lines(ref: str, t: CreditTraining) -> list[str]:
    lin, m = t.lineage, t.metrics
    split, approval = lin["split"], m["approval"]
    dropped: dict[str, str] = lin["model"].get("dropped", {})
    values = (
        "TreeSHAP log-odds"
        if t.kind == "credit_lightgbm"
        else "points below the average applicant's"
    )
    lines = [
        f"# Credit model card: {ref}",
        "",
        f"A {_TITLES.get(t.kind, t.kind)} giving a credit applicant's probability of default "
        "(PD) for pre-qualification. It reads the application inputs "
        "(`riskloop.credit.inputs.MODEL_INPUTS`) derived from a `credit_application` event. "
        "A declined applicant gets at most four reasons: the inputs that raised their PD most.",
        "",
        "## Data and split",
        "",
        f"- Source: {lin['source']}",
        f"- Rows: {lin['rows']} applicants, {lin['bad']} bad ({_pct(lin['bad'] / lin['rows'])})",
        f"- Content sha256 `{lin['data_sha256']}`",
        f"- Stratified split, seed {lin['seed']}: train {split['train']} "
        f"({split['train_bad']} bad), test {split['test']} ({split['test_bad']} bad)",
        f"- Code: {', '.join(f'{k} {v}' for k, v in lin['code'].items())}",
        f"- Parameters: `{t.params}`",
        "",
        "## Performance on the test split",
        "",
        *_performance(t),
        "",
        "## Calibration by decile (test)",
        "",
        "| decile | mean PD | observed bad rate | applicants |",
        "|---|---|---|---|",
        *[
            f"| {i + 1} | {d['mean_pd']:.4f} | {d['observed_bad_rate']:.4f} | {d['n']} |"
            for i, d in enumerate(m["test"]["deciles"])
        ],
        "",
        "## Inputs and declared directions",
        "",
        "Each directed input is swept over its whole range (every level of its order, or every "
        "value seen plus one below and one above) for sampled test applicants, all else fixed; "
        "an applicant whose PD moves against the direction is a violation, and a model with "
        "any is refused.",
        "",
        "| input | label | kind | declared direction | check |",
        "|---|---|---|---|---|",
        *[
            f"| `{c.name}` | {c.label} | {c.kind} | {_direction(c)} "
            f"| {_check_text(m['monotonicity'].get(c.name), dropped.get(c.name))} |"
            for c in APPLICATION.columns
        ],
        "",
        *(_points(t) if t.kind == "credit_scorecard" else []),
        "## Fairness (monitoring only)",
        "",
        "Protected attributes (sex, marital status, age band, foreign worker) are monitored "
        "only, never model inputs: they are kept apart from the inputs and joined to the "
        "decisions afterwards.",
        "",
        f"Approving the {_pct(approval['rate'])} of test applicants with the lowest PDs "
        f"(PD <= {approval['cutoff']:.4f}). The impact ratio is a segment's approval rate "
        "over its attribute's best; under 0.80 is the four-fifths warning.",
        "",
        fairness_markdown(t.fairness),
        "",
    ]
    if not lin["protected"]:
        lines += ["No protected attributes came with the data: fairness is not measured.", ""]
    lines += [f"- Data note: {note}" for note in lin["notes"]]
    lines += [
        *([""] if lin["notes"] else []),
        "## Sample declines",
        "",
        f"The {len(t.sample_declines)} test applicants with the highest PD and the reasons "
        f"they would be given ({values}).",
        "",
        "| row | outcome | PD | reasons |",
        "|---|---|---|---|",
        *[
            f"| {d['row']} | {'bad' if d['bad'] else 'good'} | {d['pd']:.3f} | "
            + "; ".join(f"{r} ({v:+.2f})" for r, v in zip(d["reasons"], d["values"], strict=True))
            + " |"
            for d in t.sample_declines
        ],
        "",
        "## Reason codes",
        "",
        "| reason code | input | what the applicant reads |",
        "|---|---|---|",
        *[
            f"| `{credit_reason_code(c.name)}` | `{c.name}` | {c.label} |"
            for c in APPLICATION.columns
            if c.name not in dropped
        ],
        "",
    ]
    return lines
