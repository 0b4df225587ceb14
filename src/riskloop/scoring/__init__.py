"""Scoring: a model turns a feature vector into a risk score in [0, 1] and the reasons for it."""

from riskloop.scoring.builtin import PointsScorer, default_scorer
from riskloop.scoring.port import Contribution, Score, Scorer, top_reasons

__all__ = ["Contribution", "PointsScorer", "Score", "Scorer", "default_scorer", "top_reasons"]
