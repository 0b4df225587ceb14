"""A backfill spread over processes: the feature set is split by entity (histories of
different entities are independent), each process replays the whole log for its part, and
the parts are joined column-wise — rows line up because every process replays the same log
in the same order."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from riskloop.adapters.parquet import ParquetVectorSink, vector_schema
from riskloop.bootstrap import build
from riskloop.config import Settings
from riskloop.features import FeatureSet
from riskloop.service.features import ReplayStats


def _part(settings: Settings, fs: FeatureSet, path: Path) -> ReplayStats:
    rl = build(settings, migrate=False, feature_set=fs, rebuild_features=False)
    try:
        return rl.features.backfill(ParquetVectorSink(path, fs), feature_set=fs)
    finally:
        rl.close()


def backfill(settings: Settings, fs: FeatureSet, out: Path, *, workers: int) -> ReplayStats:
    parts = fs.partition(workers)
    if len(parts) == 1:
        return _part(settings, fs, out)
    paths = [out.with_name(f".{out.name}.part{i}") for i in range(len(parts))]
    try:
        # spawn: a fresh interpreter per part, no forked database connections.
        with multiprocessing.get_context("spawn").Pool(len(parts)) as pool:
            results = pool.starmap(
                _part, [(settings, p, path) for p, path in zip(parts, paths, strict=True)]
            )
        tables = [pq.read_table(path) for path in paths]
        ids = tables[0]["event_id"]
        if any(not t["event_id"].equals(ids) for t in tables[1:]):
            raise RuntimeError("backfill parts disagree on the events: the log changed meanwhile?")
        schema = vector_schema(fs)
        columns = {
            name: tables[0][name]
            for name in ("event_id", "event_type", "occurred_at", "seq", "late")
        }
        for t in tables:
            for name in t.column_names:
                columns.setdefault(name, t[name])
        joined = pa.table([columns[f.name] for f in schema], schema=schema)
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        pq.write_table(joined, tmp)
        os.replace(tmp, out)
    finally:
        for path in paths:
            path.unlink(missing_ok=True)
    first = results[0]
    return ReplayStats(
        events=first.events, labels=first.labels, late=first.late, duplicates=first.duplicates
    )
