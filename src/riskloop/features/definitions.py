"""Declarative feature definitions: what to compute, over which entity, window and events.

A feature set is written in YAML (or built in Python from these dataclasses) and validated
as a whole; ``load_feature_set`` reports the first problem with the feature's name and field.

Semantics, the same online and offline: the features of an event at time ``t`` aggregate the
events of the same entity that arrived *before* it with ``t - window < time <= t``. The event
itself is not included (it is what is being decided on), and an event that arrives later is
not included even if it happened earlier: features are what was known at the time.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import orjson

from riskloop.errors import InvalidDefinition

Agg = Literal[
    "count", "sum", "mean", "min", "max", "std", "count_distinct", "last", "time_since_last"
]
AGGS: tuple[str, ...] = Agg.__args__  # type: ignore[attr-defined]
NEEDS_FIELD = frozenset({"sum", "mean", "min", "max", "std", "count_distinct", "last"})
Op = Literal["eq", "ne", "in", "not_in", "lt", "le", "gt", "ge", "exists"]
OPS: tuple[str, ...] = Op.__args__  # type: ignore[attr-defined]
DerivedOp = Literal["ratio", "diff", "zscore"]

_DURATION = re.compile(r"^([1-9][0-9]*)(s|m|h|d|w)$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")

# Entity -> where its key is in a stored event (the first path present wins).
ENTITY_KEYS: dict[str, tuple[str, ...]] = {
    "card": ("card.token",),
    "customer": ("customer_id",),
    "account": ("account_id",),
    "device": ("device.id", "device.fingerprint"),
    "ip": ("ip",),
    "email": ("email_hash",),
    "merchant": ("merchant.id",),
    "terminal": ("merchant.terminal_id",),
    "bin": ("card.bin",),
    "payee": ("payee.iban_hash", "payee.account_number_hash", "payee.wallet_id", "payee.id"),
}


def parse_duration(text: str, where: str) -> int:
    """``"10m"`` -> 600 seconds.

    >>> parse_duration("24h", "x"), parse_duration("7d", "x")
    (86400, 604800)
    """
    m = _DURATION.match(str(text).strip())
    if not m:
        raise InvalidDefinition(where, f"{text!r} is not a duration like 10m, 1h, 24h, 7d")
    return int(m.group(1)) * _UNIT_S[m.group(2)]


@dataclass(frozen=True, slots=True)
class Condition:
    field: str
    op: Op
    value: Any = None


@dataclass(frozen=True, slots=True)
class Feature:
    """One feature. ``kind`` says which of the optional parts apply:

    - ``aggregate``: ``agg`` over ``field`` of the entity's events in ``window`` (``last``
      and ``time_since_last`` look back over ``window`` too);
    - ``geo_velocity``: km/h between this event's ``geo`` and the entity's previous one
      (``unit: km`` gives the distance);
    - ``first_seen``: 1 if the entity has not had this ``field`` value within ``window``;
    - ``label_rate``: share of the entity's events in ``window`` already labelled fraud;
    - ``derived``: ``op`` over ``inputs`` (other features, or ``event.<path>``).
    """

    name: str
    kind: Literal["aggregate", "geo_velocity", "first_seen", "label_rate", "derived"]
    entity: str | None = None
    events: tuple[str, ...] = ()
    for_events: tuple[str, ...] = ()
    agg: Agg | None = None
    field: str | None = None
    window_s: int | None = None
    where: tuple[Condition, ...] = ()
    unit: Literal["kmh", "km"] = "kmh"
    op: DerivedOp | None = None
    inputs: tuple[str, ...] = ()
    description: str = ""

    @property
    def outputs_for(self) -> tuple[str, ...]:
        return self.for_events or self.events


@dataclass(frozen=True)
class FeatureSet:
    name: str
    version: int
    features: tuple[Feature, ...]
    lateness_s: int = 600
    by_name: dict[str, Feature] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {f.name: f for f in self.features})

    @property
    def fingerprint(self) -> str:
        doc = {
            "name": self.name,
            "version": self.version,
            "lateness_s": self.lateness_s,
            "features": [asdict(f) for f in self.features],
        }
        return hashlib.sha256(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)).hexdigest()

    @property
    def version_id(self) -> str:
        """What a decision record names: ``default@1+3f2a9c1e`` (declared version + content)."""
        return f"{self.name}@{self.version}+{self.fingerprint[:8]}"

    def names_for(self, event_type: str) -> list[str]:
        return [f.name for f in self.features if event_type in f.outputs_for]

    def partition(self, parts: int) -> list[FeatureSet]:
        """Split into at most ``parts`` sets whose entities do not overlap (a derived feature
        stays with its inputs), so each can be computed by its own process: the entities'
        histories are independent of each other."""
        group: dict[str, str] = {}  # union-find over entities

        def find(e: str) -> str:
            while group.setdefault(e, e) != e:
                e = group[e]
            return e

        def entities_of(f: Feature) -> set[str]:
            if f.entity:
                return {f.entity}
            return set().union(
                *(entities_of(self.by_name[i]) for i in f.inputs if i in self.by_name)
            )

        for f in self.features:
            linked = sorted(entities_of(f))
            for other in linked[1:]:
                group[find(other)] = find(linked[0])
        clusters: dict[str, list[Feature]] = {}
        for f in self.features:
            ents = sorted(entities_of(f))
            clusters.setdefault(find(ents[0]) if ents else "", []).append(f)
        bins: list[list[Feature]] = [[] for _ in range(max(1, min(parts, len(clusters))))]
        for members in sorted(clusters.values(), key=len, reverse=True):
            min(bins, key=len).extend(members)
        order = {f.name: i for i, f in enumerate(self.features)}
        return [
            FeatureSet(
                self.name,
                self.version,
                tuple(sorted(b, key=lambda f: order[f.name])),
                self.lateness_s,
            )
            for b in bins
            if b
        ]

    def horizon_s(self, entity: str) -> int:
        """How far back the entity's state must reach."""
        spans = [f.window_s or 0 for f in self.features if f.entity == entity]
        return max(spans, default=0)
