"""The model card's plots (matplotlib, headless): precision-recall against the baseline,
calibration, and what the model leans on. Each returns PNG bytes.

Figures are built with ``matplotlib.figure.Figure`` rather than pyplot: no global state and
no GUI backend, so a server thread can render a card safely."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from sklearn.metrics import precision_recall_curve


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()


def pr_curves(y: np.ndarray, curves: Mapping[str, np.ndarray]) -> bytes:
    fig = Figure(figsize=(5, 3.6))
    ax = fig.subplots()
    for label, scores in curves.items():
        precision, recall, _ = precision_recall_curve(y, scores)
        ax.plot(recall, precision, label=label)
    ax.set_xlabel("recall (share of fraud caught)")
    ax.set_ylabel("precision")
    ax.set_title("Precision-recall on the test window")
    ax.legend()
    ax.grid(alpha=0.3)
    return _png(fig)


def calibration(deciles: Sequence[Mapping[str, Any]]) -> bytes:
    fig = Figure(figsize=(5, 3.6))
    ax = fig.subplots()
    xs = [d["mean_score"] for d in deciles]
    ys = [d["fraud_rate"] for d in deciles]
    top = max([*xs, *ys, 0.01])
    ax.plot([0, top], [0, top], linestyle="--", color="grey", label="perfect")
    ax.plot(xs, ys, marker="o", label="model")
    ax.set_xlabel("mean score (decile)")
    ax.set_ylabel("observed fraud rate")
    ax.set_title("Calibration")
    ax.legend()
    ax.grid(alpha=0.3)
    return _png(fig)


def importance(names: Sequence[str], values: Sequence[float], top: int = 15) -> bytes:
    order = np.argsort(values)[::-1][:top][::-1]
    fig = Figure(figsize=(5, 0.3 * len(order) + 1))
    ax = fig.subplots()
    ax.barh([names[i] for i in order], [values[i] for i in order])
    ax.set_xlabel("mean |contribution| on the test window (log-odds)")
    ax.set_title("What the model leans on")
    return _png(fig)
