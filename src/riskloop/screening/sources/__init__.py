"""List parsers: OFAC SDN (legacy CSV), the UN consolidated list (XML) and FollowTheMoney
JSON lines (OpenSanctions). Each gives ``ListEntry`` values; every parse error is an
``InvalidInput`` whose field is ``FILE:LINE`` (or ``FILE:record N``)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from riskloop.screening.model import ListEntry
from riskloop.screening.sources._common import bad
from riskloop.screening.sources.ftm import load_ftm
from riskloop.screening.sources.ofac import load_ofac
from riskloop.screening.sources.un import load_un

FORMATS = ("ofac", "un", "ftm")
_OFAC_FILES = {
    "sdn": ("sdn.csv", "ofac_sdn.csv"),
    "alt": ("alt.csv", "ofac_alt.csv"),
    "add": ("add.csv", "ofac_add.csv"),
    "comments": ("sdn_comments.csv", "ofac_sdn_comments.csv"),
}
_DEFAULT_SOURCES = {"ofac": "ofac_sdn", "un": "un", "ftm": "opensanctions"}


def _sibling(folder: Path, part: str) -> Path | None:
    return next((folder / n for n in _OFAC_FILES[part] if (folder / n).is_file()), None)


def detect_format(path: Path) -> str:
    """``ofac`` for a folder holding sdn.csv or ofac_sdn.csv (or that file itself), ``un``
    for *.xml, ``ftm`` for *.json / *.jsonl / *.ftm.json."""
    name = path.name.casefold()
    if path.is_dir():
        if _sibling(path, "sdn") is not None:
            return "ofac"
        raise bad(path, 0, "a folder of list files needs sdn.csv or ofac_sdn.csv")
    if name in _OFAC_FILES["sdn"]:
        return "ofac"
    if name.endswith(".xml"):
        return "un"
    if name.endswith((".json", ".jsonl")):
        return "ftm"
    raise bad(path, 0, "unknown list format: use a folder with sdn.csv, *.xml or *.json(l)")


def load_path(
    path: Path, *, fmt: str | None = None, source: str | None = None
) -> tuple[str, list[ListEntry]]:
    """(source name, entries) of a list file or folder; ``source`` renames the source."""
    if not path.exists():
        raise bad(path, 0, "no such file or folder")
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise bad(path, 0, f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}")
    name = source or _DEFAULT_SOURCES[fmt]
    if fmt == "ftm":
        return name, load_ftm(path, source=name)
    if fmt == "un":
        entries = load_un(path)
    else:
        folder = path if path.is_dir() else path.parent
        sdn = _sibling(folder, "sdn") if path.is_dir() else path
        if sdn is None:
            raise bad(path, 0, "no sdn.csv or ofac_sdn.csv here")
        entries = load_ofac(
            sdn,
            alt=_sibling(folder, "alt"),
            add=_sibling(folder, "add"),
            comments=_sibling(folder, "comments"),
        )
    if entries and entries[0].source != name:
        entries = [dataclasses.replace(e, source=name) for e in entries]
    return name, entries


__all__ = ["FORMATS", "detect_format", "load_ftm", "load_ofac", "load_path", "load_un"]
