from __future__ import annotations

import numpy as np

from riskloop.training.compare import psi, shadow_report


def test_psi_is_zero_for_the_same_distribution_and_alerts_on_a_shift() -> None:
    rs = np.random.RandomState(3)
    base = rs.beta(1, 20, size=20_000)
    assert psi(base, rs.beta(1, 20, size=20_000)) < 0.01
    assert psi(base, rs.beta(3, 10, size=20_000)) > 0.25
    assert psi(np.zeros(10), np.ones(10)) == 0.0  # no spread to bin: no verdict


def test_the_report_compares_flags_and_ranking_by_labels() -> None:
    rs = np.random.RandomState(5)
    n = 2000
    fraud = rs.random_sample(n) < 0.05
    champion = np.where(fraud, rs.uniform(0.3, 1, n), rs.uniform(0, 0.7, n))
    challenger = np.where(fraud, rs.uniform(0.6, 1, n), rs.uniform(0, 0.5, n))  # better
    rows = [(f"e{i}", champion[i], "fraud@2+abc", challenger[i]) for i in range(n)]
    labels = {f"e{i}": True for i in range(n) if fraud[i]}
    report = shadow_report(rows, labels, review_rate=0.05)
    assert report["decisions"] == n and report["challengers"] == ["fraud@2+abc"]
    at = report["at_champion_review_rate"]
    assert at["champion_flags"] == 100 and at["both"] <= at["challenger_flags"]
    ranked = report["labels"]
    assert ranked["fraud"] == int(fraud.sum())
    assert ranked["challenger"]["roc_auc"] > ranked["champion"]["roc_auc"]
    assert ranked["challenger"]["fraud_flagged"] >= ranked["champion"]["fraud_flagged"]
    assert report["psi_status"] in {"ok", "warn", "alert"}
    assert shadow_report([], {}) == {"decisions": 0}
