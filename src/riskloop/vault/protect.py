"""The vault at the edge: what leaves it for storage holds no PAN and no clear PII.

* A PAN becomes ``token`` (keyed HMAC), ``bin`` and ``last4``; the PAN itself is dropped.
* Fields marked PII are removed from the record and sealed together under the record's own
  data key (AES-256-GCM), bound to the event id.
* Fields marked PII_MATCH also leave a keyed hash (``email_hash``) that features can match on.
* A card number anywhere else (a note, a merchant name, an id that is one) never reaches
  storage either: a value that *is* a card number becomes its token, one that contains one
  (free text) is masked to the first six and last four digits.
* The fingerprint is a keyed hash of the whole validated body, for idempotency.
"""

from __future__ import annotations

import re
import types
import typing
from datetime import datetime
from functools import cache
from typing import Any, Union

import orjson
from pydantic import BaseModel

from riskloop.domain.cards import card_numbers
from riskloop.domain.events import DeadLetter, SealedBox, StoredEvent
from riskloop.domain.sensitivity import Sensitive
from riskloop.vault.envelope import open_sealed, seal
from riskloop.vault.hashing import card_bin, fingerprint, match_hash, pan_token
from riskloop.vault.keyring import Keyring
from riskloop.vault.masking import mask_cards

Path = tuple[str, ...]
# Cheap pre-check: 13+ characters of digits, spaces and dashes in a key or a string; numbers
# are checked by their integer digits (a float's fraction is never a card number).
_LONG_NUMBER = re.compile(r"[0-9][0-9 -]{11,}[0-9]")
# Which normalisation a match hash uses, by field name.
_MATCH_KIND = {"number": "document_number", "new_email": "email", "new_phone": "phone"}


def _marker_in(annotation: Any) -> Sensitive | None:
    for meta in getattr(annotation, "__metadata__", ()):
        if isinstance(meta, Sensitive):
            return meta
    return None


def _branches(annotation: Any) -> tuple[Any, ...]:
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        return typing.get_args(annotation)
    return (annotation,)


@cache
def sensitive_paths(model: type[BaseModel]) -> tuple[tuple[Path, Sensitive], ...]:
    """Every marked field under ``model``, nested models included, in declaration order."""
    found: list[tuple[Path, Sensitive]] = []
    for name, info in model.model_fields.items():
        marker = next((m for m in info.metadata if isinstance(m, Sensitive)), None)
        for branch in _branches(info.annotation):
            marker = marker or _marker_in(branch)
            if isinstance(branch, type) and issubclass(branch, BaseModel):
                found.extend(((name, *p), m) for p, m in sensitive_paths(branch))
        if marker is not None:
            found.append(((name,), marker))
    return tuple(found)


def _at(data: dict[str, Any], path: Path) -> Any:
    node: Any = data
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _integral_digits(value: Any) -> str | None:
    """The digits of a number that could be a card number (12+ digits, no fraction)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and (not value.is_integer() or abs(value) >= 1e20):
        return None
    digits = str(abs(int(value)))
    return digits if len(digits) >= 12 else None


def _has_long_number(value: Any, path: Path, skip: set[Path]) -> bool:
    if path in skip:
        return False
    if isinstance(value, str):
        return _LONG_NUMBER.search(value) is not None
    if _integral_digits(value) is not None:
        return True
    if isinstance(value, dict):
        return any(
            _LONG_NUMBER.search(k) is not None or _has_long_number(v, (*path, k), skip)
            for k, v in value.items()
        )
    if isinstance(value, list):
        return any(_has_long_number(v, path, skip) for v in value)
    return False


def _event_aad(event_id: str) -> bytes:
    return b"event:" + event_id.encode()


class Vault:
    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring

    def match_hash(self, kind: str, value: str) -> str:
        return match_hash(self.keyring.match_key, kind, value)

    def protect(self, event: BaseModel, *, source: str) -> StoredEvent:
        data = event.model_dump(mode="json", exclude_none=True)
        fp = fingerprint(
            self.keyring.fingerprint_key, orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
        )
        paths = sensitive_paths(type(event))
        # Stray card numbers first, before tokens and hashes are added (their hex may hold a
        # Luhn-valid run of digits); the PAN fields themselves are tokenized below.
        pan_paths = {p for p, m in paths if m.kind == "pan"}
        if _has_long_number(data, (), pan_paths):
            data = self._without_card_numbers(data, (), pan_paths)
        pii: dict[str, Any] = {}
        for path, marker in paths:
            parent: Any = data
            for part in path[:-1]:
                parent = parent.get(part) if isinstance(parent, dict) else None
            name = path[-1]
            if not isinstance(parent, dict) or name not in parent:
                continue
            value = parent.pop(name)
            if marker.kind == "pan":
                parent.update(
                    token=pan_token(self.keyring.token_key, value),
                    bin=card_bin(value),
                    last4=value[-4:],
                )
                continue
            pii[".".join(path)] = value
            if marker.match:
                parent[f"{name}_hash"] = self.match_hash(_MATCH_KIND.get(name, name), str(value))
        event_id = data["event_id"]
        box = seal(self.keyring, orjson.dumps(pii), aad=_event_aad(event_id)) if pii else None
        return StoredEvent(
            event_id=event_id,
            event_type=data["event_type"],
            schema_version=data["schema_version"],
            occurred_at=getattr(event, "occurred_at"),  # noqa: B009 - every contract has it
            data=data,
            pii=box,
            fingerprint=fp,
            source=source,
        )

    def _without_card_numbers(self, value: Any, path: Path, skip: set[Path]) -> Any:
        if path in skip:
            return value
        if isinstance(value, str):
            spans = card_numbers(value)
            if not spans:
                return value
            if len(spans) == 1 and spans[0][0] == 0 and spans[0][1] == len(value):
                return pan_token(self.keyring.token_key, spans[0][2])
            return mask_cards(value)
        if isinstance(value, dict):
            return {
                mask_cards(k): self._without_card_numbers(v, (*path, k), skip)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self._without_card_numbers(v, path, skip) for v in value]
        digits = _integral_digits(value)
        if digits is not None:
            spans = card_numbers(digits)
            if spans and spans[0][0] == 0 and spans[0][1] == len(digits):
                return pan_token(self.keyring.token_key, spans[0][2])
        return value

    def reveal(self, stored: StoredEvent) -> dict[str, Any]:
        """The stored data with its PII decrypted and put back (never the PAN: it is gone)."""
        data: dict[str, Any] = orjson.loads(orjson.dumps(stored.data))
        if stored.pii is None:
            return data
        pii = orjson.loads(open_sealed(self.keyring, stored.pii, aad=_event_aad(stored.event_id)))
        for dotted, value in pii.items():
            *parents, name = dotted.split(".")
            node = data
            for part in parents:
                node = node.setdefault(part, {})
            node[name] = value
        return data

    def dead_letter(self, raw: Any, *, reason: str, source: str, now: datetime) -> DeadLetter:
        """Seal rejected input: callers strip sensitive authentication data first."""
        payload = orjson.dumps(raw, default=str, option=orjson.OPT_SORT_KEYS)
        fp = fingerprint(self.keyring.fingerprint_key, source.encode() + b"\x00" + payload)
        return DeadLetter(
            source=source,
            reason=reason,
            payload=seal(self.keyring, payload, aad=fp.encode()),
            fingerprint=fp,
            received_at=now,
        )

    def seal_note(self, text: str, *, context: str) -> SealedBox:
        """Encrypt free text people write (case notes), with card numbers masked first: an
        analyst may paste one, and riskloop keeps no PAN even encrypted."""
        aad = b"riskloop/note/" + context.encode()
        return seal(self.keyring, mask_cards(text).encode(), aad=aad)

    def open_note(self, box: SealedBox, *, context: str) -> str:
        return open_sealed(self.keyring, box, aad=b"riskloop/note/" + context.encode()).decode()

    def open_dead_letter(self, letter: DeadLetter) -> Any:
        return orjson.loads(
            open_sealed(self.keyring, letter.payload, aad=letter.fingerprint.encode())
        )


__all__ = ["SealedBox", "Vault", "sensitive_paths"]
