"""Features: declarative definitions, one engine for online state and offline backfills."""

from riskloop.features.definitions import ENTITY_KEYS, Feature, FeatureSet
from riskloop.features.engine import (
    EventInput,
    FeatureEngine,
    FeatureResult,
    FeatureState,
    MemoryState,
)
from riskloop.features.loader import load_feature_set, parse_feature_set

__all__ = [
    "ENTITY_KEYS",
    "EventInput",
    "Feature",
    "FeatureEngine",
    "FeatureResult",
    "FeatureSet",
    "FeatureState",
    "MemoryState",
    "load_feature_set",
    "parse_feature_set",
]
