"""Intake: data contracts, validation and mapping of raw records onto contracts."""

from riskloop.intake.contracts import EventBase
from riskloop.intake.registry import (
    CONTRACTS,
    EVENT_TYPES,
    RETENTION_ACTIONS,
    ContractSpec,
    RetentionAction,
    json_schema,
    latest,
)
from riskloop.intake.validation import strip_forbidden, validate_event

__all__ = [
    "CONTRACTS",
    "EVENT_TYPES",
    "RETENTION_ACTIONS",
    "ContractSpec",
    "EventBase",
    "RetentionAction",
    "json_schema",
    "latest",
    "strip_forbidden",
    "validate_event",
]
