"""Sanctions screening: list parsers, name normalisation, fuzzy matching with an
explanation, and list snapshot diffs. Pure computation: no database, no network.

Load a list with ``sources.load_path``, build an ``Index`` once per list version, and
``Index.search(Query(...))`` for explained ``Match`` values; ``Thresholds`` says which are
alerts. See docs/screening.md for how matching works and how well.
"""

from riskloop.screening.evidence import Evidence
from riskloop.screening.match import Index
from riskloop.screening.model import Alias, EntityKind, ListDiff, ListEntry, diff
from riskloop.screening.normalize import NormalizedName, fold, normalize_name, phonetic_key
from riskloop.screening.query import Match, Query, Thresholds
from riskloop.screening.sources import load_ftm, load_ofac, load_path, load_un

__all__ = [
    "Alias",
    "EntityKind",
    "Evidence",
    "Index",
    "ListDiff",
    "ListEntry",
    "Match",
    "NormalizedName",
    "Query",
    "Thresholds",
    "diff",
    "fold",
    "load_ftm",
    "load_ofac",
    "load_path",
    "load_un",
    "normalize_name",
    "phonetic_key",
]
