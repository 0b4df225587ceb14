"""The simulator's files: ``events.ndjson`` and ``labels.ndjson`` (what ``riskloop import``
reads), ``truth.ndjson`` (which events are fraud, never sent to riskloop) and
``manifest.json`` (the parameters and counts). Lines are compact JSON in a fixed key order,
so the same simulation gives the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

EVENTS, LABELS, TRUTH, MANIFEST = "events.ndjson", "labels.ndjson", "truth.ndjson", "manifest.json"


def _line(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"


def write_ndjson(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    """Write one JSON object a line; returns how many."""
    n = 0
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for row in rows:
            fh.write(_line(row))
            n += 1
    return n


def write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    path.write_text(text, encoding="utf-8", newline="\n")
