"""A backfill split over processes writes exactly what one process writes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from riskloop.bootstrap import build
from riskloop.config import Settings
from riskloop.entrypoints.backfill import backfill
from riskloop.features import load_feature_set
from tests.support.streams import generate


@dataclass(frozen=True)
class _Line:
    line: int
    value: Any
    error: str | None = None


def test_partitions_cover_every_feature_once_and_never_share_an_entity() -> None:
    fs = load_feature_set()
    parts = fs.partition(3)
    assert len(parts) == 3
    names = [f.name for p in parts for f in p.features]
    assert sorted(names) == sorted(f.name for f in fs.features)
    entity_sets = [{f.entity for f in p.features if f.entity} for p in parts]
    for i, a in enumerate(entity_sets):
        for b in entity_sets[i + 1 :]:
            assert not a & b
    for p in parts:  # a derived feature travels with its inputs
        for f in p.features:
            assert all(i.startswith("event.") or i in p.by_name for i in f.inputs)


def test_three_processes_write_what_one_writes(settings: Settings, tmp_path: Path) -> None:
    rl = build(settings, rebuild_features=False)
    events = generate(4000, seed=9)
    rl.ingestor.import_records((_Line(i, e) for i, e in enumerate(events)), source="t")
    rl.close()
    fs = load_feature_set()
    one, three = tmp_path / "one.parquet", tmp_path / "three.parquet"
    a = backfill(settings, fs, one, workers=1)
    b = backfill(settings, fs, three, workers=3)
    assert a == b
    assert a.labels > 0
    t1, t3 = pq.read_table(one), pq.read_table(three)
    assert t1.schema == t3.schema
    assert t1.equals(t3)
    assert t1.num_rows == a.events
    assert not list(tmp_path.glob(".three.parquet*"))  # no parts left behind
