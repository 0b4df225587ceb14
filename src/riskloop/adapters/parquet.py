"""Feature vectors to Parquet (pyarrow), written to a temporary file and renamed into place
on success, so a failed backfill never leaves a half file where a good one is expected."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from riskloop.features import FeatureSet

_META_COLUMNS = [
    pa.field("event_id", pa.string()),
    pa.field("event_type", pa.string()),
    pa.field("occurred_at", pa.timestamp("ms", tz="UTC")),
    pa.field("seq", pa.int64()),
    pa.field("late", pa.bool_()),
]


def vector_schema(fs: FeatureSet) -> pa.Schema:
    """Numbers are float64; ``last`` values are strings (they may be a country, an id...)."""
    fields = list(_META_COLUMNS)
    for f in sorted(fs.features, key=lambda f: f.name):
        fields.append(pa.field(f.name, pa.string() if f.agg == "last" else pa.float64()))
    return pa.schema(fields, metadata={"riskloop.feature_set": fs.version_id})


class ParquetVectorSink:
    def __init__(self, path: Path, feature_set: FeatureSet) -> None:
        self.path = path
        self.schema = vector_schema(feature_set)
        self._strings = {f.name for f in self.schema if f.type == pa.string()}
        path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        self._writer: pq.ParquetWriter | None = pq.ParquetWriter(self._tmp, self.schema)
        self._ok = True

    def write(self, rows: list[dict[str, Any]]) -> None:
        if self._writer is None:
            raise RuntimeError("sink is closed")
        columns: dict[str, list[Any]] = {name: [] for name in self.schema.names}
        for row in rows:
            for name, values in columns.items():
                v = row.get(name)
                if name in self._strings and v is not None:
                    v = str(v)
                values.append(v)
        try:
            self._writer.write_table(pa.Table.from_pydict(columns, schema=self.schema))
        except Exception:
            self._ok = False
            raise

    def fail(self) -> None:
        self._ok = False

    def close(self) -> None:
        if self._writer is None:
            return
        self._writer.close()
        self._writer = None
        if self._ok:
            os.replace(self._tmp, self.path)
        else:
            self._tmp.unlink(missing_ok=True)


def write_training_set(
    vectors: Path, labels: dict[str, bool], latest: datetime, out: Path
) -> tuple[int, int]:
    """Vectors of events that happened by ``latest`` (cut-off minus maturity), with ``label``
    1 where a fraud label was known at the cut-off, else 0. Returns (rows, positives)."""
    table = pq.read_table(vectors)
    mask = pc.less_equal(table["occurred_at"], pa.scalar(latest, type=pa.timestamp("ms", tz="UTC")))
    table = table.filter(mask)
    flags = [1 if labels.get(e) else 0 for e in table["event_id"].to_pylist()]
    table = table.append_column("label", pa.array(flags, type=pa.int8()))
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, tmp)
    os.replace(tmp, out)
    return table.num_rows, sum(flags)
