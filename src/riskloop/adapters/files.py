"""Readers for event files: NDJSON, CSV and Parquet, one record at a time with its location.

A record that cannot even be read as a row (a broken JSON line) comes back with ``error`` set
and its raw text as ``value``, so the caller can dead-letter it with the reason.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson

Format = Literal["ndjson", "csv", "parquet"]
_SUFFIXES: dict[str, Format] = {
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".json": "ndjson",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}


@dataclass(frozen=True, slots=True)
class FileRecord:
    line: int  # 1-based line (NDJSON/CSV, header is line 1) or row number (Parquet)
    value: Any
    error: str | None = None


def detect_format(path: Path) -> Format:
    try:
        return _SUFFIXES[path.suffix.lower()]
    except KeyError:
        known = ", ".join(sorted(_SUFFIXES))
        raise ValueError(f"cannot tell the format of {path.name}; use --format ({known})") from None


def read_records(path: Path, fmt: Format) -> Iterator[FileRecord]:
    if fmt == "ndjson":
        return _ndjson(path)
    if fmt == "csv":
        return _csv(path)
    return _parquet(path)


def _ndjson(path: Path) -> Iterator[FileRecord]:
    with path.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                yield FileRecord(number, orjson.loads(line))
            except orjson.JSONDecodeError:
                text = line.decode("utf-8", errors="replace").rstrip("\n")
                yield FileRecord(number, text, "invalid JSON")


def _csv(path: Path) -> Iterator[FileRecord]:
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as fh:
        reader = csv.DictReader(fh)
        for row in reader:
            extra = row.pop(None, None)
            if extra:
                yield FileRecord(reader.line_num, dict(row), "more cells than header columns")
            else:
                yield FileRecord(reader.line_num, row)


def _parquet(path: Path) -> Iterator[FileRecord]:
    import pyarrow.parquet as pq  # optional extra `files`; imported only when used

    number = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=4096):
        for row in batch.to_pylist():
            number += 1
            yield FileRecord(number, row)


def count_lines(path: Path, fmt: Format) -> int | None:
    """A cheap size estimate for a progress bar."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    with path.open("rb") as fh:
        n = sum(1 for _ in fh)
    return n - 1 if fmt == "csv" else n
