"""The catalogue of contracts: each with an owner, a version and a retention period, and its
JSON Schema for producers.

>>> spec = latest("card_payment")
>>> spec.version, spec.owner
(1, 'payments-risk')
>>> schema = json_schema(spec)
>>> schema["x-retention-days"], "card" in schema["properties"]
(2555, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from riskloop.intake.contracts import (
    AccountChange,
    CardPayment,
    ChallengeResult,
    CreditApplication,
    Dispute,
    EventBase,
    KycRecord,
    LabelRecord,
    LedgerEntry,
    Login,
    Transfer,
)


@dataclass(frozen=True, slots=True)
class ContractSpec:
    event_type: str
    version: int
    model: type[EventBase]
    owner: str
    retention_days: int
    description: str

    @property
    def id(self) -> str:
        return f"{self.event_type}/v{self.version}"


def _spec(model: type[EventBase], owner: str, retention_days: int) -> ContractSpec:
    event_type = model.model_fields["event_type"].annotation.__args__[0]  # type: ignore[union-attr]
    return ContractSpec(
        event_type=event_type,
        version=1,
        model=model,
        owner=owner,
        retention_days=retention_days,
        description=(model.__doc__ or "").strip().splitlines()[0],
    )


# Retention follows common obligations: card data 7 years (scheme rules, AML record keeping),
# logins 1 year (security investigations), KYC 5 years after the relationship (AMLD5).
CONTRACTS: dict[tuple[str, int], ContractSpec] = {
    (s.event_type, s.version): s
    for s in (
        _spec(CardPayment, "payments-risk", 2555),
        _spec(Transfer, "payments-risk", 2555),
        _spec(Login, "identity-risk", 365),
        _spec(AccountChange, "identity-risk", 1825),
        # Step-up results label the events they answer: kept as long as those can be.
        _spec(ChallengeResult, "identity-risk", 2555),
        _spec(KycRecord, "compliance", 1825),
        # Credit files: kept while adverse-action and fair-lending reviews can ask (25 months
        # under Regulation B; 7 years for the credit agreement itself).
        _spec(CreditApplication, "credit-risk", 2555),
        _spec(Dispute, "payments-risk", 2555),
        _spec(LedgerEntry, "finance", 2555),
        _spec(LabelRecord, "fraud-ops", 2555),
    )
}

EVENT_TYPES: tuple[str, ...] = tuple(sorted({t for t, _ in CONTRACTS}))


def latest(event_type: str) -> ContractSpec:
    versions = [v for t, v in CONTRACTS if t == event_type]
    if not versions:
        raise KeyError(event_type)
    return CONTRACTS[(event_type, max(versions))]


def json_schema(spec: ContractSpec) -> dict[str, Any]:
    schema = spec.model.model_json_schema(mode="validation")
    schema.update(
        {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"riskloop:contracts/{spec.id}",
            "title": spec.id,
            "description": spec.description,
            "x-owner": spec.owner,
            "x-version": spec.version,
            "x-retention-days": spec.retention_days,
            "x-unknown-fields": "reject",
        }
    )
    return schema
