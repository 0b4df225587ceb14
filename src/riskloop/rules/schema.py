"""What a rule can see of an event: the contract's fields *after the vault* (a PAN is
``card.token`` / ``card.bin`` / ``card.last4``, a matchable PII field is ``<name>_hash``,
other PII is sealed and invisible), each with its CEL type, so a rule is type-checked
against the contract when it is saved."""

from __future__ import annotations

import enum
import ipaddress
import types
import typing
from datetime import date, datetime
from functools import cache
from typing import Any, Literal, Union

from pydantic import BaseModel

from riskloop.domain.sensitivity import Sensitive
from riskloop.intake.registry import latest

# Scalar CEL types by name; the CEL adapter turns them into its own type objects.
CelType = Literal["int", "double", "string", "bool", "dyn", "map", "list"]


def _marker(metadata: typing.Sequence[Any]) -> Sensitive | None:
    return next((m for m in metadata if isinstance(m, Sensitive)), None)


def _scalar(annotation: Any) -> CelType:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _scalar(typing.get_args(annotation)[0])
    if origin is Literal:
        kinds = {_scalar(type(a)) for a in typing.get_args(annotation)}
        return kinds.pop() if len(kinds) == 1 else "dyn"
    if origin in (dict, typing.Mapping):
        return "map"
    if origin in (list, tuple, typing.Sequence):
        return "list"
    if annotation is bool:
        return "bool"
    if annotation is int:
        return "int"
    if annotation is float:
        return "double"
    if isinstance(annotation, type) and issubclass(annotation, str | enum.Enum | date | datetime):
        return "string"  # stored as JSON: dates, times and enums are strings
    if annotation in (ipaddress.IPv4Address, ipaddress.IPv6Address) or annotation is getattr(
        ipaddress, "IPvAnyAddress", None
    ):
        return "string"
    name = getattr(annotation, "__name__", "")
    return "string" if name.startswith("IPvAny") or name == "AwareDatetime" else "dyn"


def _walk(model: type[BaseModel], prefix: str, out: dict[str, CelType]) -> None:
    for name, info in model.model_fields.items():
        marker = _marker(info.metadata)
        branches = (
            typing.get_args(info.annotation)
            if typing.get_origin(info.annotation) in (Union, types.UnionType)
            else (info.annotation,)
        )
        branches = tuple(b for b in branches if b is not type(None))
        for b in branches:
            if typing.get_origin(b) is typing.Annotated:
                marker = marker or _marker(typing.get_args(b)[1:])
        path = f"{prefix}{name}"
        if marker is not None:
            if marker.kind == "pan":
                out[f"{prefix}token"] = "string"
                out[f"{prefix}bin"] = "string"
                out[f"{prefix}last4"] = "string"
            elif marker.match:
                out[f"{path}_hash"] = "string"
            continue  # sealed: rules never see clear PII
        models = [b for b in branches if isinstance(b, type) and issubclass(b, BaseModel)]
        if models:
            for m in models:
                _walk(m, f"{path}.", out)
            continue
        kinds = {_scalar(b) for b in branches}
        out[path] = kinds.pop() if len(kinds) == 1 else "dyn"


@cache
def event_fields(event_type: str) -> dict[str, CelType]:
    """``{"amount": "int", "card.bin": "string", ...}`` for the latest contract version.

    >>> fields = event_fields("card_payment")
    >>> fields["amount"], fields["card.token"], fields["merchant.country"], "card.pan" in fields
    ('int', 'string', 'string', False)
    >>> event_fields("card_payment")["email_hash"]
    'string'
    """
    spec = latest(event_type)
    out: dict[str, CelType] = {}
    _walk(spec.model, "", out)
    out.pop("schema_version", None)
    return out


def common_fields(event_types: typing.Iterable[str]) -> dict[str, CelType]:
    """Fields a rule over several event types may use: present in all with one type."""
    maps = [event_fields(t) for t in event_types]
    if not maps:
        return {}
    first, *rest = maps
    return {k: v for k, v in first.items() if all(m.get(k) == v for m in rest)}
