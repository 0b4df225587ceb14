"""Crypto-shredding a stored event: what anonymisation takes from what the vault stored.

The vault seals an event's PII under the event's own data key and leaves, for each field
marked ``PII_MATCH``, a keyed hash (``email_hash``) that features and lists match on.
Anonymising drops both: without its wrapped data key the ciphertext is unreadable even in a
backup, and without the hashes nothing in the payload links the event to a person's
e-mail, phone, document or bank account. Tokens (``card.token``) and the non-personal
fields stay, so features, training sets and replays still read the event.

>>> from riskloop.intake.contracts import CardPayment
>>> match_hash_paths(CardPayment)
(('email_hash',),)
>>> without_paths({"amount": 1, "email_hash": "h_1", "card": {"token": "t"}}, [("email_hash",)])
{'amount': 1, 'card': {'token': 't'}}
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from pydantic import BaseModel

from riskloop.vault.protect import sensitive_paths

Path = tuple[str, ...]


@cache
def match_hash_paths(model: type[BaseModel]) -> tuple[Path, ...]:
    """Where the vault puts the keyed hashes of ``model``'s matchable PII fields."""
    return tuple(
        (*path[:-1], f"{path[-1]}_hash") for path, marker in sensitive_paths(model) if marker.match
    )


def without_paths(data: dict[str, Any], paths: Iterable[Path]) -> dict[str, Any]:
    """A copy of ``data`` without the values at ``paths`` (absent ones are ignored)."""
    out: dict[str, Any] = _copy(data)
    for path in paths:
        node: Any = out
        for part in path[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(path[-1], None)
    return out


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
