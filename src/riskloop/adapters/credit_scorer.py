"""A credit model behind the scorer port: the probability of default (PD) of one applicant
and the inputs that raised it, read from the application inputs of a ``credit_application``
(``riskloop.credit.inputs.application_inputs``; keys the model does not read are ignored).

Two registry kinds (``training.credit_train.REGISTRY_KINDS``), both JSON artifacts:

- ``credit_lightgbm`` (``CreditModel``): the PD is the calibration of the sigmoid of
  ``bias + sum(TreeSHAP)``, the exact margin LightGBM predicts, so one pass gives score and
  reasons and they cannot disagree. Contributions are TreeSHAP log-odds summed per input
  (a one-hot group is one input). The TreeSHAP tables are built when the model loads.
- ``credit_scorecard`` (``Scorecard``): the PD from the points of the applicant's bins;
  an input's contribution is the points its bin earns below the input's average (over the
  training applicants) divided by the scaling factor, so log-odds too (the scorecard's own
  adverse-action reasons).

Reason codes are ``CREDIT_<INPUT>``. A missing or null input, a number where a category
belongs, or a category outside the vocabulary raises ``ValueError`` naming the input: the
decision pipeline then decides on rules alone (the port fails open).
"""

from __future__ import annotations

import bisect
import math
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from riskloop.credit.inputs import MODEL_INPUTS
from riskloop.scoring.port import FeatureValue, Score, top_reasons
from riskloop.scoring.reasons import MAX_REASONS
from riskloop.scoring.treeshap import TreeShap
from riskloop.training.credit import CreditModel
from riskloop.training.credit_train import REGISTRY_KINDS, credit_reason_code
from riskloop.training.scorecard import Scorecard

KINDS = tuple(REGISTRY_KINDS.values())


class _Input:
    """How one input is read: a number, or a category (checked against ``categories``
    when the model speaks the application vocabulary)."""

    __slots__ = ("categories", "name", "numeric")

    def __init__(self, name: str, numeric: bool, categories: frozenset[str] | None) -> None:
        self.name = name
        self.numeric = numeric
        self.categories = categories

    def read(self, features: Mapping[str, FeatureValue]) -> float | str:
        value = features.get(self.name)
        if value is None:
            raise ValueError(f"credit input {self.name!r} is missing")
        if self.numeric:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"credit input {self.name!r} must be a number, not {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"credit input {self.name!r} must be finite, not {value!r}")
            return float(value)
        if not isinstance(value, str):
            raise ValueError(f"credit input {self.name!r} must be a category, not {value!r}")
        if self.categories is not None and value not in self.categories:
            raise ValueError(f"credit input {self.name!r}: unknown category {value!r}")
        return value


class _LightGBM:
    """Encodes one applicant straight into LightGBM's row (the encoder's layout) and
    explains it with TreeSHAP tables built once."""

    def __init__(self, model: CreditModel) -> None:
        enc = model.encoder
        self.model = model
        self.width = len(enc.features)
        self.columns = enc.spec.names
        self.inputs = _inputs({c.name: c.kind == "numeric" for c in enc.spec.columns})
        # Per column: its first encoded position, and how a value lands there.
        self.starts: list[int] = []
        self.plans: list[tuple[str, int, dict[str, int]]] = []
        for c in enc.spec.columns:
            at = enc.sources.index(c.name)
            self.starts.append(at)
            if c.kind == "ordinal":
                self.plans.append(("ordinal", at, {v: i for i, v in enumerate(c.order)}))
            elif c.kind == "nominal":
                cats = enc.categories[c.name]
                self.plans.append(("nominal", at, {v: i for i, v in enumerate(cats)}))
            else:
                self.plans.append(("numeric", at, {}))
        _check_model_text(model.booster_text)
        model.booster  # noqa: B018  parsed now: a broken model text is refused when it loads
        self.sigmoid = _sigmoid_scale(model.booster_text)
        self._shap: TreeShap | None = None
        self._lock = threading.Lock()

    def shap(self) -> TreeShap:
        if self._shap is None:
            with self._lock:
                if self._shap is None:
                    self._shap = TreeShap.from_dump(self.model.booster.dump_model())
        return self._shap

    def row(self, values: Sequence[float | str]) -> np.ndarray[Any, np.dtype[np.float64]]:
        x = np.zeros(self.width)
        for (kind, at, codes), value in zip(self.plans, values, strict=True):
            if kind == "numeric":
                x[at] = value
            elif kind == "ordinal":  # outside the order ("none"): missing, as in training
                code = codes.get(str(value))
                x[at] = np.nan if code is None else code
            elif (i := codes.get(str(value))) is not None:  # an unseen category: all zeros
                x[at + i] = 1.0
        return x

    def score(self, values: Sequence[float | str]) -> tuple[float, dict[str, float]]:
        shap = self.shap()
        phi = shap.explain(self.row(values))
        z = self.sigmoid * (shap.bias + float(phi.sum()))
        e = math.exp(-abs(z))
        raw = 1.0 / (1.0 + e) if z >= 0 else e / (1.0 + e)
        pd = float(np.interp(raw, self.model.calibration.x, self.model.calibration.y))
        per_column = np.add.reduceat(phi, self.starts).tolist()
        return pd, dict(zip(self.columns, per_column, strict=True))


class _Points:
    """The scorecard as lookups: each input's bin, its points and the points it falls
    short of the input's average (``Scorecard.average``)."""

    def __init__(self, card: Scorecard) -> None:
        self.card = card
        self.columns = card.features
        self.inputs = _inputs({f: fb.kind == "numeric" for f, fb in card.bins.items()})
        points: dict[str, list[float]] = {f: [] for f in card.features}
        for r in card.points_table():
            points[r["feature"]].append(float(r["points"]))
        self.points = points
        self.average = card.average
        self.lookups: list[Any] = []
        for fb in card.bins.values():
            if fb.kind == "categorical":
                self.lookups.append({c: i for i, b in enumerate(fb.bins) for c in b.categories})
            else:  # NaN never arrives (inputs are finite): the ranged bins alone
                ranged = [i for i, b in enumerate(fb.bins) if not b.missing]
                edges = [float(fb.bins[i].upper or 0.0) for i in ranged[:-1]]
                self.lookups.append((edges, ranged))
        self.factor = card.scaling.factor
        self.offset = card.scaling.offset

    def score(self, values: Sequence[float | str]) -> tuple[float, dict[str, float]]:
        total = self.card.base_points
        lost: dict[str, float] = {}
        for f, lookup, value in zip(self.columns, self.lookups, values, strict=True):
            if isinstance(lookup, dict):
                i = lookup.get(str(value), -1)
            else:
                edges, ranged = lookup
                i = ranged[bisect.bisect_right(edges, float(value))]
            got = self.points[f][i] if i >= 0 else 0.0  # no bin holds it: WoE 0, no points
            total += got
            lost[f] = (self.average[f] - got) / self.factor
        z = (total - self.offset) / self.factor  # log-odds of good
        e = math.exp(-abs(z))  # never overflows
        return (e / (1.0 + e) if z >= 0 else 1.0 / (1.0 + e)), lost


class CreditScorer:
    """A credit model (``CreditModel`` or ``Scorecard``) as a ``Scorer``; ``name`` is the
    version a decision records. Thread-safe.

    >>> from riskloop.training.woe import Bin, FeatureBins
    >>> term = FeatureBins("term_months", "numeric", (
    ...     Bin("< 24", 60, 10, -0.5, 0.1, upper=24.0), Bin("24 or more", 40, 30, 0.6, 0.1)))
    >>> s = CreditScorer(Scorecard([term], {"term_months": 1.0}, -0.8), name="card@1")
    >>> score = s.score({"term_months": 36, "debt_to_income": 0.4})
    >>> round(score.value, 4), score.contributions  # sigmoid(-0.8 + 0.6); 0.6 - average 0.05
    (0.4502, (Contribution(feature='term_months', value=0.55, reason='CREDIT_TERM_MONTHS'),))
    """

    def __init__(self, model: CreditModel | Scorecard, *, name: str) -> None:
        self._name = name
        self._impl = _LightGBM(model) if isinstance(model, CreditModel) else _Points(model)
        self._reasons = {c: credit_reason_code(c) for c in self._impl.columns}

    @property
    def version(self) -> str:
        return self._name

    @property
    def features(self) -> Sequence[str]:
        """The inputs the model reads (a scorecard's: those it kept), in its order."""
        return self._impl.columns

    def score(self, features: Mapping[str, FeatureValue], *, top_k: int = 4) -> Score:
        values = [i.read(features) for i in self._impl.inputs]
        pd, contributions = self._impl.score(values)
        top = max(0, min(top_k, MAX_REASONS))
        return Score(pd, top_reasons(contributions, top, self._reasons))


def _inputs(kinds: Mapping[str, bool]) -> list[_Input]:
    """The readers of a model's inputs (name -> numeric?). A model over application inputs
    (all in ``MODEL_INPUTS``) refuses a category outside the vocabulary; its encoder would
    read one as missing (ordinal) or as no category at all (nominal) and score it quietly."""
    vocabulary = set(kinds) <= set(MODEL_INPUTS)
    out = []
    for name, numeric in kinds.items():
        known = MODEL_INPUTS.get(name) if vocabulary else None
        out.append(_Input(name, numeric, frozenset(known) if isinstance(known, tuple) else None))
    return out


def load_credit_scorer(kind: str, artifact: bytes, name: str) -> CreditScorer:
    """A registered credit model as a scorer; ``ValueError`` for an unknown kind or an
    artifact that does not load. LightGBM's model text is parsed here, so a broken one is
    refused when it loads, not on every decision."""
    if kind not in KINDS:
        raise ValueError(f"{name}: unknown credit model kind {kind!r}, not one of {KINDS}")
    try:
        model: CreditModel | Scorecard
        if kind == REGISTRY_KINDS["lightgbm"]:
            model = CreditModel.from_json(artifact)
        else:
            model = Scorecard.from_json(artifact)
        scorer = CreditScorer(model, name=name)
        if isinstance(scorer._impl, _LightGBM):  # ~50 ms: at load, never in a decision
            scorer._impl.shap()
        return scorer
    # Broken JSON, missing keys, wrong types, a protected column in the spec, or LightGBM's
    # own error for a model text it cannot parse: all one answer for the caller.
    except Exception as exc:
        raise ValueError(f"{name}: not a {kind} artifact ({type(exc).__name__}: {exc})") from None


def _check_model_text(text: str) -> None:
    """``ValueError`` unless the trees are where the header's ``tree_sizes`` (bytes) say.
    LightGBM aborts the whole process, rather than raising, on some truncated model texts.

    >>> _check_model_text("tree\\ntree_sizes=7\\n\\nTree=0\\nend of trees\\n")
    >>> _check_model_text("tree\\ntree_sizes=5 9\\n\\nTree=0\\nTree=1")
    Traceback (most recent call last):
    ...
    ValueError: LightGBM model text: tree 1 is not where tree_sizes puts it
    """
    data = text.encode()
    header, found, _ = data.partition(b"\nTree=")
    lines = header.split(b"\n")
    if not found or lines[0] != b"tree":
        raise ValueError("LightGBM model text: no trees")
    sizes = next((h[len(b"tree_sizes=") :] for h in lines if h.startswith(b"tree_sizes=")), None)
    at = len(header) + 1
    for i, size in enumerate((sizes or b"").split()):
        if data[at : at + 5] != b"Tree=":
            raise ValueError(f"LightGBM model text: tree {i} is not where tree_sizes puts it")
        at += int(size)
    whole = data[at:].startswith(b"end of trees") if sizes else b"\nend of trees" in data
    if not whole:
        raise ValueError("LightGBM model text: truncated (no 'end of trees' after the trees)")


def _sigmoid_scale(model_text: str) -> float:
    """The ``sigmoid`` scale of a binary LightGBM model (from its text's header);
    ``ValueError`` for a model whose PD is not the sigmoid of its trees' sum.

    >>> _sigmoid_scale("tree\\nobjective=binary sigmoid:1\\nfeature_names=a\\n")
    1.0
    """
    header = model_text.split("\nTree=", 1)[0].splitlines()
    objective = next((h.split("=", 1)[1] for h in header if h.startswith("objective=")), "")
    words = objective.split()
    if not words or words[0] != "binary":
        raise ValueError(f"a binary model is needed, not {objective or 'none'!r}")
    if "average_output" in header:
        raise ValueError("a random forest's margin is its trees' mean: not a credit model")
    scales = [float(w.split(":", 1)[1]) for w in words[1:] if w.startswith("sigmoid:")]
    return scales[0] if scales else 1.0
