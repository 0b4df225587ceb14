"""Block, allow and watch lists, and the index the decision path reads them through.

A list has a name (how rules refer to it: ``lists.blocked_devices``), a kind, an entity
type and the event fields it is checked against (by default those of its type). Entries
carry a reason, an author and an optional expiry; an expired entry no longer matches.
Card numbers and e-mail addresses are accepted when loading and stored only as their
token or keyed hash, like everything else the vault protects.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import pycountry

from riskloop.domain.cards import luhn_valid
from riskloop.errors import FieldError, InvalidInput


class ListKind(StrEnum):
    BLOCK = "block"
    ALLOW = "allow"
    WATCH = "watch"


class ListType(StrEnum):
    CARD_TOKEN = "card_token"  # noqa: S105 (a list type, not a secret)
    EMAIL_HASH = "email_hash"
    DEVICE = "device"
    IP = "ip"  # addresses and CIDR ranges
    BIN = "bin"
    COUNTRY = "country"
    MERCHANT = "merchant"
    CUSTOMER = "customer"
    ACCOUNT = "account"


# Where a list of each type looks in a stored event (any of the paths present may match).
DEFAULT_FIELDS: dict[ListType, tuple[str, ...]] = {
    ListType.CARD_TOKEN: ("card.token",),
    ListType.EMAIL_HASH: ("email_hash", "new_email_hash"),
    ListType.DEVICE: ("device.id", "device.fingerprint"),
    ListType.IP: ("ip",),
    ListType.BIN: ("card.bin",),
    ListType.COUNTRY: (
        "geo.country",
        "card.country",
        "merchant.country",
        "payee.bank_country",
        "new_address.country",
    ),
    ListType.MERCHANT: ("merchant.id",),
    ListType.CUSTOMER: ("customer_id",),
    ListType.ACCOUNT: ("account_id",),
}

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_HASH = re.compile(r"^h_[0-9a-f]{32}$")
_BIN = re.compile(r"^[0-9]{6,8}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True, slots=True)
class ListDef:
    name: str
    kind: ListKind
    type: ListType
    fields: tuple[str, ...]
    description: str = ""
    author: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind.value,
            "type": self.type.value,
            "fields": list(self.fields),
            "description": self.description,
            "author": self.author,
        }


@dataclass(frozen=True, slots=True)
class ListEntry:
    list_name: str
    value: str  # normalised: a token, a keyed hash, an address or network, a code
    reason: str
    author: str
    added_at: datetime
    expires_at: datetime | None = None

    def live(self, now: datetime) -> bool:
        return self.expires_at is None or self.expires_at > now

    def as_dict(self) -> dict[str, Any]:
        return {
            "list": self.list_name,
            "value": self.value,
            "reason": self.reason,
            "author": self.author,
            "added_at": self.added_at.isoformat(),
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
        }


@dataclass(frozen=True)
class Protector:
    """How clear values become what is stored: the vault's tokenizer and match hash."""

    pan_token: Callable[[str], str]
    email_hash: Callable[[str], str]


def list_from_dict(doc: Any) -> ListDef:
    if not isinstance(doc, dict):
        raise InvalidInput([FieldError("list", "must be an object")])
    allowed = {"name", "kind", "type", "fields", "description", "author"}
    errors = [FieldError(k, "unknown field") for k in sorted(set(doc) - allowed)]
    name = doc.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        errors.append(FieldError("name", "must be 1-63 of a-z, 0-9 and _, starting with a letter"))
    kind = type_ = None
    try:
        kind = ListKind(doc.get("kind", ""))
    except ValueError:
        errors.append(FieldError("kind", "must be one of block, allow, watch"))
    try:
        type_ = ListType(doc.get("type", ""))
    except ValueError:
        errors.append(FieldError("type", f"must be one of {', '.join(t.value for t in ListType)}"))
    fields = doc.get("fields")
    if fields is not None and (
        not isinstance(fields, list)
        or not fields
        or not all(isinstance(f, str) and re.match(r"^[a-z_][a-z0-9_.]*$", f) for f in fields)
    ):
        errors.append(FieldError("fields", "must be a non-empty list of event field paths"))
        fields = None
    for key in ("description", "author"):
        if not isinstance(doc.get(key, ""), str):
            errors.append(FieldError(key, "must be text"))
    if errors:
        raise InvalidInput(errors)
    assert type_ is not None
    assert kind is not None
    return ListDef(
        name=name,  # type: ignore[arg-type]
        kind=kind,
        type=type_,
        fields=tuple(fields) if fields else DEFAULT_FIELDS[type_],
        description=doc.get("description", ""),
        author=doc.get("author", ""),
    )


def normalise_value(list_type: ListType, raw: Any, protect: Protector) -> str:
    """The stored form of one entry's value; raises ``ValueError`` saying what is wrong."""
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError("must be a non-empty string")
    value = raw.strip()
    match list_type:
        case ListType.CARD_TOKEN:
            digits = value.replace(" ", "").replace("-", "")
            if digits.isdigit() and 12 <= len(digits) <= 19:
                if not luhn_valid(digits):
                    raise ValueError("card number fails the Luhn check")
                return protect.pan_token(digits)
            if not _ID.match(value):
                raise ValueError("must be a card token or a card number")
            return value
        case ListType.EMAIL_HASH:
            if _HASH.match(value):
                return value
            if _EMAIL.match(value):
                return protect.email_hash(value)
            raise ValueError("must be an e-mail address or an email_hash (h_ + 32 hex)")
        case ListType.IP:
            try:
                return str(ipaddress.ip_network(value, strict=False))
            except ValueError:
                raise ValueError("must be an IP address or a CIDR range") from None
        case ListType.BIN:
            if not _BIN.match(value):
                raise ValueError("must be a BIN of 6 to 8 digits")
            return value
        case ListType.COUNTRY:
            if pycountry.countries.get(alpha_2=value.upper()) is None:
                raise ValueError("must be an ISO 3166-1 alpha-2 country code")
            return value.upper()
        case _:
            if not _ID.match(value):
                raise ValueError("must be an id of 1-128 letters, digits and ._:-")
            return value


def _at(data: Mapping[str, Any], path: str) -> Any:
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


@dataclass
class _Members:
    exact: dict[str, datetime | None] = field(default_factory=dict)
    # CIDR ranges by prefix length: a lookup masks the address once per length present.
    nets: dict[tuple[int, int], dict[int, datetime | None]] = field(default_factory=dict)


class ListIndex:
    """Fast membership for the decision path (a dict lookup per field; CIDR by prefix)."""

    def __init__(self, lists: Iterable[ListDef], entries: Iterable[ListEntry]) -> None:
        self.lists = {d.name: d for d in lists}
        self._members = {name: _Members() for name in self.lists}
        for e in entries:
            members = self._members.get(e.list_name)
            if members is None:
                continue
            if self.lists[e.list_name].type is ListType.IP and "/" in e.value:
                net = ipaddress.ip_network(e.value)
                if net.num_addresses == 1:
                    members.exact[str(net.network_address)] = e.expires_at
                else:
                    key = (net.version, net.prefixlen)
                    members.nets.setdefault(key, {})[int(net.network_address)] = e.expires_at
            else:
                members.exact[e.value] = e.expires_at

    @property
    def names(self) -> list[str]:
        return sorted(self.lists)

    def contains(self, name: str, value: Any, now: datetime) -> bool:
        members = self._members[name]
        if value is None:
            return False
        value = str(value)
        if value in members.exact:
            expires = members.exact[value]
            return expires is None or expires > now
        if members.nets:
            try:
                addr = ipaddress.ip_address(value)
            except ValueError:
                return False
            bits = 32 if addr.version == 4 else 128
            n = int(addr)
            for (version, prefix), nets in members.nets.items():
                if version != addr.version:
                    continue
                base = n >> (bits - prefix) << (bits - prefix)
                if base in nets:
                    expires = nets[base]
                    if expires is None or expires > now:
                        return True
        return False

    def memberships(
        self, data: Mapping[str, Any], now: datetime, only: Collection[str] | None = None
    ) -> dict[str, bool]:
        """``{list name: does this event match it}`` for every list (or those in ``only``)."""
        out: dict[str, bool] = {}
        for name, d in self.lists.items():
            if only is not None and name not in only:
                continue
            out[name] = any(self.contains(name, _at(data, f), now) for f in d.fields)
        return out
