"""A feature set compiled for the engine: per entity, which columns each history row keeps;
per event type, which features to output and which entities to update."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from riskloop.features.compute import CompiledFeature, Row, compile_path
from riskloop.features.definitions import ENTITY_KEYS, Feature, FeatureSet


@dataclass(frozen=True)
class EntityPlan:
    entity: str
    columns: tuple[str, ...]  # row = (event_type, *columns)
    sources: frozenset[str]  # event types that add a row
    horizon: int  # ms
    labelled: frozenset[str]  # event types whose fraud labels this entity counts

    _keys: tuple[Callable[[dict[str, Any]], Any], ...] = field(init=False, repr=False)
    _cols: tuple[Callable[[dict[str, Any]], Any], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_keys", tuple(compile_path(p) for p in ENTITY_KEYS[self.entity]))
        object.__setattr__(
            self, "_cols", tuple(_geo if c == "geo" else compile_path(c) for c in self.columns)
        )

    def key(self, data: dict[str, Any]) -> str | None:
        for get in self._keys:
            value = get(data)
            if value is not None and value != "":
                return str(value)
        return None

    def row(self, event_type: str, data: dict[str, Any]) -> Row:
        return (event_type, *[get(data) for get in self._cols])


def _geo(data: dict[str, Any]) -> tuple[float, float] | None:
    geo = data.get("geo")
    return (geo["lat"], geo["lon"]) if isinstance(geo, dict) and "lat" in geo else None


@dataclass(frozen=True)
class TypePlan:
    """What happens for one event type."""

    entities: tuple[EntityPlan, ...]  # to read and/or update
    outputs: tuple[tuple[str, CompiledFeature], ...]  # (entity, feature) in set order
    derived: tuple[Feature, ...]
    names: tuple[str, ...]  # output order


class Plan:
    def __init__(self, fs: FeatureSet) -> None:
        self.feature_set = fs
        self.lateness = fs.lateness_s * 1000  # ms, like every time in the engine
        entities: dict[str, EntityPlan] = {}
        for entity in sorted({f.entity for f in fs.features if f.entity}):
            feats = [f for f in fs.features if f.entity == entity]
            cols: list[str] = []
            for f in feats:
                for c in [
                    f.field,
                    *(w.field for w in f.where),
                    "geo" if f.kind == "geo_velocity" else None,
                ]:
                    if c and c not in cols:
                        cols.append(c)
            entities[entity] = EntityPlan(
                entity=entity,
                columns=tuple(cols),
                sources=frozenset(t for f in feats for t in f.events),
                horizon=fs.horizon_s(entity) * 1000,
                labelled=frozenset(t for f in feats if f.kind == "label_rate" for t in f.events),
            )
        self.entities = entities
        self.max_horizon = max((e.horizon for e in entities.values()), default=0)
        self.by_type: dict[str, TypePlan] = {}
        types = {t for f in fs.features for t in (*f.events, *f.outputs_for)}
        for etype in sorted(types):
            involved = [
                e
                for e in entities.values()
                if etype in e.sources
                or any(etype in f.outputs_for for f in fs.features if f.entity == e.entity)
            ]
            outputs = []
            for f in fs.features:
                if f.entity and etype in f.outputs_for:
                    e = entities[f.entity]
                    idx = {c: i + 1 for i, c in enumerate(e.columns)}
                    outputs.append((f.entity, CompiledFeature(f, idx, e.sources)))
            derived = tuple(
                f for f in fs.features if f.kind == "derived" and etype in f.outputs_for
            )
            self.by_type[etype] = TypePlan(
                entities=tuple(involved),
                outputs=tuple(outputs),
                derived=derived,
                names=tuple(fs.names_for(etype)),
            )
