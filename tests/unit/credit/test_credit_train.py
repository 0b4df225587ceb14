"""A credit training run: both kinds learn the German data in the application vocabulary,
the LightGBM model keeps its declared directions, the card shows what a reviewer needs
(fairness, the declines' reasons, the constraints) and the records are plain JSON."""

from __future__ import annotations

import csv
import dataclasses
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
import pytest

from riskloop.credit.inputs import MODEL_INPUTS
from riskloop.errors import InvalidInput
from riskloop.training.credit import CreditModel, monotonicity
from riskloop.training.credit_data import PROTECTED
from riskloop.training.credit_german import APPLICATION, load_credit_csv
from riskloop.training.credit_train import (
    KINDS,
    ConstraintViolated,
    CreditTraining,
    CreditTrainSpec,
    table_sha256,
    train_credit,
)
from riskloop.training.fairness import fairness_markdown
from riskloop.training.scorecard import Scorecard

if TYPE_CHECKING:
    from tests.unit.credit.conftest import Applications, German

DIRECTED = {c.name: c.monotone for c in APPLICATION.columns if c.monotone}


def _model(t: CreditTraining) -> CreditModel | Scorecard:
    if t.kind == "credit_lightgbm":
        return CreditModel.from_json(t.artifact)
    return Scorecard.from_json(t.artifact)


@pytest.mark.parametrize("kind", KINDS)
def test_both_kinds_rank_the_held_out_applicants(
    kind: str, trained: dict[str, CreditTraining], applications: Applications
) -> None:
    t = trained[kind]
    assert t.kind == f"credit_{kind}" and t.artifact_name == "model.json"
    assert t.features == list(MODEL_INPUTS)
    test = t.metrics["test"]
    assert test["roc_auc"] > 0.72
    assert test["n"] == 300 and test["bad_rate"] == pytest.approx(0.3)
    assert test["gini"] == pytest.approx(2 * test["roc_auc"] - 1, abs=1e-5)
    assert {"ks", "brier", "deciles"} <= set(test) and len(test["deciles"]) == 10
    assert t.metrics["train"]["n"] == 700
    pd = _model(t).predict_pd(applications.test.columns)
    assert test["mean_pd"] == pytest.approx(float(pd.mean()), abs=1e-6)


def test_lightgbm_reports_the_scorecard_beside_it(trained: dict[str, CreditTraining]) -> None:
    base = trained["lightgbm"].metrics["baseline"]
    assert base["kind"] == "credit_scorecard"
    assert base["test"] == trained["scorecard"].metrics["test"]  # the same fit, same rows
    assert "baseline" not in trained["scorecard"].metrics


def test_lightgbm_keeps_the_declared_directions(
    trained: dict[str, CreditTraining], applications: Applications
) -> None:
    t = trained["lightgbm"]
    model = CreditModel.from_json(t.artifact)
    assert model.params["monotone_constraints"] == [
        APPLICATION.monotone[s] for s in model.encoder.sources
    ]
    report = monotonicity(model, applications.test.columns)
    assert {k: r["direction"] for k, r in report.items()} == DIRECTED
    assert all(r["raw_violations"] == r["calibrated_violations"] == 0 for r in report.values())
    assert t.metrics["monotonicity"] == report  # the run records the same sweep


def test_the_scorecard_is_checked_the_same_way(trained: dict[str, CreditTraining]) -> None:
    report = trained["scorecard"].metrics["monotonicity"]
    assert {k: r["direction"] for k, r in report.items()} == DIRECTED
    assert all(r["violations"] == 0 and r["applicants"] == 200 for r in report.values())


def test_a_broken_direction_names_the_input() -> None:
    err = ConstraintViolated(
        {
            "term_months": {"direction": 1, "raw_violations": 3, "calibrated_violations": 2},
            "savings": {"direction": -1, "raw_violations": 0, "calibrated_violations": 0},
        }
    )
    assert str(err) == "PD moves against the declared direction of term_months (3 applicants)"


def test_the_card_shows_fairness_declines_and_constraints(
    trained: dict[str, CreditTraining],
) -> None:
    for kind, t in trained.items():
        card = t.card_markdown("credit@3")
        assert card.startswith("# Credit model card: credit@3\n")
        assert fairness_markdown(t.fairness) in card
        assert "monitored only, never model inputs" in card
        assert "personal_status_and_sex: sorted in 4 blocks" in card  # the data's defect
        assert len(t.sample_declines) == 5
        for d in t.sample_declines:
            assert 1 <= len(d["reasons"]) <= 4
            assert all(r in card for r in d["reasons"])
        moved = "0 / 0 of 200 applicants" if kind == "lightgbm" else "0 of 200 applicants"
        for name in DIRECTED:
            row = next(line for line in card.splitlines() if line.startswith(f"| `{name}` |"))
            assert "never" in row and (moved in row or "not read" in row), row
        assert ("## Points table" in card) == (kind == "scorecard")
        assert ("scorecard baseline" in card) == (kind == "lightgbm")
        page = t.card_html("credit@3")
        assert "<h1>Credit model card: credit@3</h1>" in page and "<table>" in page
        assert "<script" not in page


def test_the_sample_declines_are_the_highest_pds_of_the_test_split(
    trained: dict[str, CreditTraining], applications: Applications
) -> None:
    for t in trained.values():
        model = _model(t)
        pd = model.predict_pd(applications.table.columns)
        declined = [d["row"] for d in t.sample_declines]
        test_pd = model.predict_pd(applications.test.columns)
        assert [d["pd"] for d in t.sample_declines] == pytest.approx(
            sorted(test_pd)[::-1][:5], abs=1e-6
        )
        for d in t.sample_declines:
            assert d["pd"] == pytest.approx(pd[d["row"]], abs=1e-6)
            assert d["bad"] == applications.table.target[d["row"]]
            assert d["pd"] > t.metrics["approval"]["cutoff"]
        assert len(set(declined)) == 5


def _roundtrips(value: Any) -> bool:
    again = orjson.loads(orjson.dumps(value))
    json.dumps(value, allow_nan=False)  # strict JSON: no NaN, no numpy types
    return bool(again == value)


def test_metrics_lineage_and_params_are_plain_json(
    trained: dict[str, CreditTraining], applications: Applications
) -> None:
    for t in trained.values():
        assert _roundtrips(t.metrics) and _roundtrips(t.lineage) and _roundtrips(t.params)
        assert _roundtrips(t.sample_declines)
        lin = t.lineage
        assert (lin["rows"], lin["bad"], lin["seed"]) == (1000, 300, 7)
        assert lin["split"] == {"train": 700, "train_bad": 210, "test": 300, "test_bad": 90}
        assert lin["data_sha256"] == table_sha256(applications.table)
        assert lin["protected"] == sorted(PROTECTED)
        assert {"python", "lightgbm", "numpy"} <= set(lin["code"])
        fairness = t.metrics["fairness"]
        assert len(fairness) == len(t.fairness)
        assert {r["attribute"] for r in fairness} == {"all", *PROTECTED}


def test_the_data_digest_follows_the_values(applications: Applications) -> None:
    t = applications.table
    assert table_sha256(t) == table_sha256(t.take(range(len(t))))
    flipped = dataclasses.replace(t, target=1 - t.target)
    assert table_sha256(flipped) != table_sha256(t)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("kind", "forest"),
        ("seed", -1),
        ("seed", True),
        ("test_share", 0.0),
        ("test_share", 1.0),
        ("test_share", math.nan),
        ("approval_rate", 0.0),
        ("approval_rate", 1.5),
        ("source", " "),
    ],
)
def test_a_bad_spec_value_is_named(field: str, value: object, applications: Applications) -> None:
    spec = dataclasses.replace(CreditTrainSpec(source="german"), **{field: value})
    with pytest.raises(InvalidInput) as err:
        train_credit(applications.table, spec)
    assert [e.field for e in err.value.errors] == [field]


def test_every_bad_spec_value_is_named_at_once() -> None:
    spec = CreditTrainSpec(source="", kind="forest", test_share=2)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput) as err:
        spec.check()
    assert [e.field for e in err.value.errors] == ["kind", "test_share", "source"]


def test_a_table_the_spec_cannot_read_or_too_small_is_refused(
    german: German, applications: Applications
) -> None:
    spec = CreditTrainSpec(source="german")
    with pytest.raises(InvalidInput) as err:
        train_credit(german.table, spec)  # the German vocabulary, not the application's
    assert "term_months" in {e.field for e in err.value.errors}
    t = applications.table
    few_bad = np.concatenate([np.flatnonzero(t.target == 0), np.flatnonzero(t.target)[:10]])
    with pytest.raises(InvalidInput, match="10 bad rows") as err:
        train_credit(t.take(few_bad), spec)
    assert err.value.field == "target"


def test_a_lenders_file_without_protected_columns_trains_the_same_model(
    tmp_path: Path, applications: Applications, trained: dict[str, CreditTraining]
) -> None:
    t = applications.table
    path = tmp_path / "book.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([*MODEL_INPUTS, "bad"])
        for i in range(len(t)):
            a = t.applicant(i)
            writer.writerow([*(a[k] for k in MODEL_INPUTS), t.target[i]])
    run = train_credit(load_credit_csv(path), CreditTrainSpec(source=str(path), kind="scorecard"))
    assert run.metrics["test"] == trained["scorecard"].metrics["test"]
    assert run.lineage["protected"] == [] and run.lineage["source"] == str(path)
    assert [r.attribute for r in run.fairness] == ["all"]
    assert "No protected attributes came with the data" in run.card_markdown("book@1")
