"""Mapping flat records (CSV rows, Parquet columns) onto nested contract fields.

Column names may already be dotted paths (``card.pan``); ``rename`` maps other names onto
paths and ``constants`` fills fields the file does not carry. Empty cells count as absent.

>>> m = ColumnMapping.parse(["txn=event_id", "pan=card.pan"], ["event_type=card_payment"])
>>> row = m.apply({"txn": "t1", "pan": "4111111111111111", "merchant.mcc": "5411", "x": ""})
>>> row["event_type"], row["event_id"], row["card"], row["merchant"]
('card_payment', 't1', {'pan': '4111111111111111'}, {'mcc': '5411'})
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from riskloop.errors import FieldError, InvalidEvent

_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def _pairs(items: Iterable[str], option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidEvent([FieldError(option, f"expected NAME=VALUE, got {item!r}")])
        out[key.strip()] = value.strip()
    return out


@dataclass(frozen=True)
class ColumnMapping:
    rename: Mapping[str, str] = field(default_factory=dict)
    constants: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, maps: Iterable[str] = (), sets: Iterable[str] = ()) -> ColumnMapping:
        rename, constants = _pairs(maps, "--map"), _pairs(sets, "--set")
        for option, paths in (("--map", rename.values()), ("--set", constants.keys())):
            for path in paths:
                if not _PATH.match(path):
                    raise InvalidEvent([FieldError(option, f"{path!r} is not a field path")])
        return cls(rename, constants)

    def apply(self, row: Mapping[str, Any]) -> dict[str, Any]:
        if not self.rename and not self.constants and not any("." in k for k in row):
            # Already nested (NDJSON, nested Parquet): only drop absent values.
            return {k: v for k, v in row.items() if v is not None and v != ""}
        out: dict[str, Any] = {}
        for path, value in self.constants.items():
            _put(out, path, value)
        for name, value in row.items():
            if value is None or value == "":
                continue
            _put(out, self.rename.get(name, name), value)
        return out


def _put(target: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node = target
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[last] = value
