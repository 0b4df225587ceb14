"""The catalogue of contracts: each with an owner, a version, a retention period and what
happens to an event past it (``delete`` or ``anonymise``; see docs/retention.md), and its
JSON Schema for producers.

>>> spec = latest("card_payment")
>>> spec.version, spec.owner, spec.retention_action
(1, 'payments-risk', 'anonymise')
>>> schema = json_schema(spec)
>>> schema["x-retention-days"], "card" in schema["properties"]
(2555, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

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

# What the retention job does to an event past its retention: ``delete`` removes the row
# and its sealed PII; ``anonymise`` crypto-shreds (drops the sealed PII and the keyed hashes
# of personal data) and keeps the tokenized payload for features, training and replays.
RetentionAction = Literal["delete", "anonymise"]
RETENTION_ACTIONS: tuple[str, ...] = ("delete", "anonymise")


@dataclass(frozen=True, slots=True)
class ContractSpec:
    event_type: str
    version: int
    model: type[EventBase]
    owner: str
    retention_days: int
    description: str
    retention_action: RetentionAction

    @property
    def id(self) -> str:
        return f"{self.event_type}/v{self.version}"


def _spec(
    model: type[EventBase], owner: str, retention_days: int, action: RetentionAction
) -> ContractSpec:
    event_type = model.model_fields["event_type"].annotation.__args__[0]  # type: ignore[union-attr]
    return ContractSpec(
        event_type=event_type,
        version=1,
        model=model,
        owner=owner,
        retention_days=retention_days,
        description=(model.__doc__ or "").strip().splitlines()[0],
        retention_action=action,
    )


# Retention follows common obligations: card data 7 years (scheme rules, AML record keeping),
# logins 1 year (security investigations), KYC 5 years after the relationship (AMLD5).
# The action: what still has a use without the person keeps its tokenized payload
# (anonymise: payments, credit files, labels train and backtest models for years); what is
# only about the person goes whole (delete: logins, contact changes, identity records).
CONTRACTS: dict[tuple[str, int], ContractSpec] = {
    (s.event_type, s.version): s
    for s in (
        _spec(CardPayment, "payments-risk", 2555, "anonymise"),
        _spec(Transfer, "payments-risk", 2555, "anonymise"),
        # Security telemetry: worthless once its window and investigations are over.
        _spec(Login, "identity-risk", 365, "delete"),
        # The new e-mail, phone or address is the point of the event: nothing useful remains.
        _spec(AccountChange, "identity-risk", 1825, "delete"),
        # Step-up results label the events they answer: kept as long as those can be.
        _spec(ChallengeResult, "identity-risk", 2555, "anonymise"),
        # Identity data must be destroyed after the AML period; the current profile's record
        # is kept while the profile is (docs/retention.md).
        _spec(KycRecord, "compliance", 1825, "delete"),
        # Credit files: kept while adverse-action and fair-lending reviews can ask (25 months
        # under Regulation B; 7 years for the credit agreement itself); then the applicant
        # goes and the financial attributes stay for scorecards.
        _spec(CreditApplication, "credit-risk", 2555, "anonymise"),
        _spec(Dispute, "payments-risk", 2555, "anonymise"),
        _spec(LedgerEntry, "finance", 2555, "anonymise"),
        # Outcomes are training labels as long as the labelled events are kept.
        _spec(LabelRecord, "fraud-ops", 2555, "anonymise"),
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
            "x-retention-action": spec.retention_action,
            "x-unknown-fields": "reject",
        }
    )
    return schema
