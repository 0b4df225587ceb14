"""Intake: data contracts, validation and mapping of raw records onto contracts."""

from riskloop.intake.contracts import EventBase
from riskloop.intake.registry import CONTRACTS, EVENT_TYPES, ContractSpec, json_schema, latest
from riskloop.intake.validation import strip_forbidden, validate_event

__all__ = [
    "CONTRACTS",
    "EVENT_TYPES",
    "ContractSpec",
    "EventBase",
    "json_schema",
    "latest",
    "strip_forbidden",
    "validate_event",
]
