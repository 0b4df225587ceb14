"""Markers that say which contract fields are sensitive, so the vault can protect them.

A contract field annotated ``Annotated[str, PII]`` is encrypted at rest; ``PII_MATCH`` is
encrypted too and also gets a deterministic keyed hash (``<field>_hash``) that features can
group on; ``PAN`` is a card number, replaced by a token, BIN and last four digits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class Sensitive:
    kind: Literal["pii", "pan"]
    match: bool = False


PII = Sensitive("pii")
PII_MATCH = Sensitive("pii", match=True)
PAN = Sensitive("pan")
