"""Credit models behind the scorer port: the same PD as the trained model, at most four
risk-raising reasons coded CREDIT_<INPUT>, the term's direction kept through the port,
application inputs scored as derived, and a clear ValueError for what cannot be scored."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
import pytest

from riskloop.adapters.credit_scorer import CreditScorer, load_credit_scorer
from riskloop.credit.inputs import MODEL_INPUTS, application_inputs
from riskloop.scoring.port import Scorer
from riskloop.training.credit import CreditModel
from riskloop.training.credit_train import KINDS, CreditTraining
from riskloop.training.scorecard import Scorecard

if TYPE_CHECKING:
    from tests.unit.credit.conftest import Applications

APPLICATION = {
    "product": "loan",
    "requested_amount": 300000,
    "term_months": 24,
    "monthly_income": 250000,
    "monthly_obligations": 50000,
    "housing": "rent",
    "employment": {"status": "employed", "months_in_job": 30, "level": "skilled"},
    "bureau": {"credit_history": "paid_duly", "existing_credits": 1},
    "checking_balance": 15000,
    "purpose": "car_used",
}


@pytest.fixture(scope="module")
def scorers(trained: dict[str, CreditTraining]) -> dict[str, CreditScorer]:
    return {k: load_credit_scorer(t.kind, t.artifact, f"credit-{k}@1") for k, t in trained.items()}


def _model(t: CreditTraining) -> CreditModel | Scorecard:
    if t.kind == "credit_lightgbm":
        return CreditModel.from_json(t.artifact)
    return Scorecard.from_json(t.artifact)


@pytest.mark.parametrize("kind", KINDS)
def test_the_scorer_gives_the_trained_models_pd(
    kind: str,
    scorers: dict[str, CreditScorer],
    trained: dict[str, CreditTraining],
    applications: Applications,
) -> None:
    test = applications.test
    expected = _model(trained[kind]).predict_pd(test.columns)
    got = np.array([scorers[kind].score(test.applicant(i)).value for i in range(len(test))])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
    assert ((got >= 0) & (got <= 1)).all()


def test_it_is_a_scorer_named_as_registered(scorers: dict[str, CreditScorer]) -> None:
    port: Scorer = scorers["lightgbm"]
    assert port.version == "credit-lightgbm@1"
    assert list(port.features) == list(MODEL_INPUTS)
    kept = list(scorers["scorecard"].features)  # a scorecard reads the inputs it kept
    assert kept == [n for n in MODEL_INPUTS if n in kept] and "term_months" in kept


@pytest.mark.parametrize("kind", KINDS)
def test_at_most_four_positive_reasons_coded_by_input(
    kind: str,
    scorers: dict[str, CreditScorer],
    trained: dict[str, CreditTraining],
    applications: Applications,
) -> None:
    model = _model(trained[kind])
    for i in range(40):
        applicant = applications.test.applicant(i)
        score = scorers[kind].score(applicant)
        c = score.contributions
        assert len(c) <= 4 and all(x.value > 0 for x in c)
        assert [x.value for x in c] == sorted((x.value for x in c), reverse=True)
        assert all(x.reason == "CREDIT_" + x.feature.upper() for x in c)
        if isinstance(model, CreditModel):  # TreeSHAP log-odds summed per input
            mine = model.contributions(applicant)
            assert [x.value for x in c] == pytest.approx([mine[x.feature] for x in c], abs=1e-9)
        else:  # the scorecard's reasons: points lost, in log-odds
            reasons = model.reasons(applicant)
            assert [x.feature for x in c] == [r.feature for r in reasons]
            factor = model.scaling.factor
            assert [x.value for x in c] == pytest.approx([r.value / factor for r in reasons])
        assert len(scorers[kind].score(applicant, top_k=10).contributions) <= 4
        assert scorers[kind].score(applicant, top_k=2).contributions == c[:2]


@pytest.mark.parametrize("kind", KINDS)
def test_a_longer_term_never_lowers_the_pd(
    kind: str, scorers: dict[str, CreditScorer], applications: Applications
) -> None:
    terms = [1.0, *np.unique(applications.table.numeric["term_months"]).tolist(), 120.0, 480.0]
    for i in range(40):
        applicant = applications.test.applicant(i)
        pd = [scorers[kind].score({**applicant, "term_months": t}).value for t in terms]
        assert (np.diff(pd) >= -1e-12).all(), i


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"checking_account": None}, "'checking_account' is missing"),
        ({"term_months": "long"}, "'term_months' must be a number"),
        ({"term_months": float("nan")}, "'term_months' must be finite"),
        ({"purpose": 3}, "'purpose' must be a category"),
        ({"housing": "castle"}, "'housing': unknown category 'castle'"),
    ],
)
def test_an_input_it_cannot_read_is_a_value_error_naming_it(
    kind: str,
    change: dict[str, Any],
    message: str,
    scorers: dict[str, CreditScorer],
    applications: Applications,
) -> None:
    applicant: dict[str, Any] = {**applications.test.applicant(0), **change}
    with pytest.raises(ValueError, match=message):
        scorers[kind].score(applicant)
    absent = {k: v for k, v in applications.test.applicant(0).items() if k != "checking_account"}
    with pytest.raises(ValueError, match="'checking_account' is missing"):
        scorers[kind].score(absent)


def test_an_unknown_kind_or_a_broken_artifact_is_a_value_error(
    trained: dict[str, CreditTraining],
) -> None:
    lgbm, card = trained["lightgbm"].artifact, trained["scorecard"].artifact
    with pytest.raises(ValueError, match="unknown credit model kind 'lightgbm'"):
        load_credit_scorer("lightgbm", lgbm, "x@1")
    for kind in ("credit_lightgbm", "credit_scorecard"):
        with pytest.raises(ValueError, match=f"x@1: not a {kind} artifact"):
            load_credit_scorer(kind, b"garbage", "x@1")
        with pytest.raises(ValueError, match=f"not a {kind} artifact"):
            load_credit_scorer(kind, b'{"kind": "' + kind.encode() + b'"}', "x@1")
    with pytest.raises(ValueError, match="not a credit_lightgbm artifact"):
        load_credit_scorer("credit_lightgbm", card, "x@1")
    with pytest.raises(ValueError, match="not a credit_scorecard artifact"):
        load_credit_scorer("credit_scorecard", lgbm, "x@1")
    doc = orjson.loads(lgbm)
    broken = orjson.dumps({**doc, "model": doc["model"][: len(doc["model"]) // 2]})
    with pytest.raises(ValueError, match="not a credit_lightgbm artifact"):
        load_credit_scorer("credit_lightgbm", broken, "x@1")


@pytest.mark.parametrize("kind", KINDS)
def test_application_inputs_are_scored_as_derived(
    kind: str, scorers: dict[str, CreditScorer]
) -> None:
    x = application_inputs(APPLICATION)
    assert "debt_to_income" in x and "adult" in x  # policy inputs ride along, ignored
    score = scorers[kind].score(x)
    assert 0 < score.value < 1
    riskier = application_inputs({**APPLICATION, "checking_balance": -5000, "term_months": 60})
    assert scorers[kind].score(riskier).value > score.value


def test_scoring_from_many_threads_gives_the_same_answers(
    trained: dict[str, CreditTraining], applications: Applications
) -> None:
    t = trained["lightgbm"]
    applicants = [applications.test.applicant(i) for i in range(30)]
    own = load_credit_scorer(t.kind, t.artifact, "a@1")  # a scorer of its own
    expected = [own.score(a) for a in applicants]
    fresh = load_credit_scorer(t.kind, t.artifact, "b@1")  # TreeSHAP not built yet
    results: list[list[Any]] = [[] for _ in range(6)]
    start = threading.Barrier(6)

    def work(k: int) -> None:
        start.wait()
        results[k] = [fresh.score(a) for a in applicants]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert all(r == expected for r in results)
