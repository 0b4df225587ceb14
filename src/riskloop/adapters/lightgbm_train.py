"""A small, deterministic LightGBM trainer for tests and benchmarks (the training pipeline
with point-in-time sets and evaluation is the models issue's)."""

from __future__ import annotations

from collections.abc import Sequence

import lightgbm
import numpy as np


def train_demo_booster(
    feature_names: Sequence[str],
    rows: np.ndarray,
    labels: np.ndarray,
    *,
    trees: int = 300,
    leaves: int = 31,
    seed: int = 7,
) -> lightgbm.Booster:
    params = {
        "objective": "binary",
        "num_leaves": leaves,
        "max_depth": 6,  # as riskloop.training fits them: exact TreeSHAP tables stay small
        "learning_rate": 0.05,
        "min_data_in_leaf": 5,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": 1,
        "seed": seed,
        "verbose": -1,
    }
    data = lightgbm.Dataset(
        rows, label=labels, feature_name=list(feature_names), free_raw_data=False
    )
    return lightgbm.train(params, data, num_boost_round=trees)
