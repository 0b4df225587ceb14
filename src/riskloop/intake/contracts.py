"""Version 1 of the event contracts: what a fintech sends riskloop.

Every event has an ``event_id`` (the idempotency key), an ``event_type``, a
``schema_version`` and a timezone-aware ``occurred_at``. Sensitive fields are marked with
:mod:`riskloop.domain.sensitivity` so the vault can tokenize or encrypt them before anything
is stored. Unknown fields are rejected; client-specific, non-sensitive attributes go in
``metadata`` (at most 32 keys).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal, Self

from pydantic import BeforeValidator, Field, StringConstraints, field_validator, model_validator

from riskloop.domain.cards import card_numbers, luhn_valid
from riskloop.domain.labels import IMPLIED_FRAUD, is_fraud_reason
from riskloop.domain.sensitivity import PAN, PII
from riskloop.intake.types import (
    AccountNumber,
    Address,
    AmountMinor,
    Contract,
    Country,
    Currency,
    Device,
    DocumentNumber,
    Email,
    Geo,
    Id,
    IpAddress,
    Mcc,
    Metadata,
    Name,
    Phone,
    Text,
    Timestamp,
    reject_bool,
)


def _strip_separators(value: object) -> object:
    return value.replace(" ", "").replace("-", "") if isinstance(value, str) else value


def _luhn(pan: str) -> str:
    if not luhn_valid(pan):
        raise ValueError("card number fails the Luhn check")
    return pan


PanDigits = Annotated[
    str,
    BeforeValidator(_strip_separators),
    StringConstraints(pattern=r"^[0-9]{12,19}$"),
    PAN,
]


class EventBase(Contract):
    event_id: Id = Field(description="unique per event; the idempotency key")
    schema_version: Literal[1] = 1
    occurred_at: Timestamp = Field(description="when it happened, with a timezone")
    metadata: Metadata = Field(default_factory=dict, max_length=32)

    @field_validator("event_id")
    @classmethod
    def _not_a_card_number(cls, event_id: str) -> str:
        # The id is stored and returned as it is, so it cannot be tokenized like other fields.
        if card_numbers(event_id):
            raise ValueError("looks like a card number; use an id that is not one")
        return event_id


class Card(Contract):
    """A card as sent: either a raw ``pan`` (tokenized at the edge) or the client's own
    ``token`` with optional ``bin`` and ``last4``. CVV and track data are never accepted."""

    pan: PanDigits | None = None
    token: Id | None = None
    bin: Annotated[str, StringConstraints(pattern=r"^[0-9]{6,8}$")] | None = None
    last4: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")] | None = None
    country: Country | None = Field(default=None, description="issuing country")
    network: (
        Literal["visa", "mastercard", "amex", "discover", "jcb", "unionpay", "other"] | None
    ) = None
    holder_name: Name | None = None

    @field_validator("pan")
    @classmethod
    def _pan_luhn(cls, pan: str | None) -> str | None:
        return None if pan is None else _luhn(pan)

    @model_validator(mode="after")
    def _one_identity(self) -> Self:
        if (self.pan is None) == (self.token is None):
            raise ValueError("give exactly one of pan or token")
        if self.pan is not None and (self.bin is not None or self.last4 is not None):
            raise ValueError("bin and last4 are derived from pan; send them only with token")
        return self


# Step-up evidence: an event retried after a ``challenge`` carries the result of the method the
# decision asked for (``step_up``): ``three_ds`` for 3-D Secure, ``mfa`` for the customer's MFA.
MfaResult = Literal["passed", "failed", "not_required", "skipped"]
MfaMethod = Literal["totp", "sms", "push", "webauthn", "email"]


class Merchant(Contract):
    id: Id
    name: Text | None = None
    mcc: Mcc
    country: Country
    city: Text | None = None
    terminal_id: Id | None = None


class CardPayment(EventBase):
    """A card authorization, capture, refund or reversal, as a processor feed sends it."""

    event_type: Literal["card_payment"]
    kind: Literal["authorization", "capture", "refund", "reversal"] = "authorization"
    customer_id: Id | None = None
    account_id: Id | None = None
    amount: AmountMinor
    currency: Currency
    merchant: Merchant
    card: Card
    channel: Literal["card_present", "card_not_present"]
    entry_mode: (
        Literal["chip", "contactless", "magstripe", "manual", "ecommerce", "recurring", "wallet"]
        | None
    ) = None
    three_ds: (
        Literal["authenticated", "attempted", "failed", "not_enrolled", "not_performed"] | None
    ) = None
    auth_result: Literal["approved", "declined"] | None = None
    decline_code: Annotated[str, StringConstraints(max_length=16)] | None = None
    mfa: MfaResult | None = Field(default=None, description="step-up by the customer's MFA")
    mfa_method: MfaMethod | None = None
    email: Email | None = None
    device: Device | None = None
    ip: IpAddress | None = None
    geo: Geo | None = None


class Payee(Contract):
    id: Id | None = None
    kind: Literal["individual", "business"] | None = None
    name: Name | None = None
    account_number: AccountNumber | None = None
    iban: AccountNumber | None = None
    routing_code: Annotated[str, StringConstraints(max_length=34)] | None = Field(
        default=None, description="sort code, ABA routing number or BIC"
    )
    bank_country: Country | None = None
    wallet_id: Id | None = None

    @model_validator(mode="after")
    def _identified(self) -> Self:
        if not (self.id or self.account_number or self.iban or self.wallet_id):
            raise ValueError("give at least one of id, account_number, iban or wallet_id")
        return self


class Transfer(EventBase):
    """An account-to-account transfer: ACH, SEPA, wire, faster payments, wallet."""

    event_type: Literal["transfer"]
    rail: Literal[
        "ach", "sepa", "sepa_instant", "wire", "faster_payments", "rtp", "wallet", "card_push"
    ]
    direction: Literal["outbound", "inbound"] = "outbound"
    customer_id: Id | None = None
    account_id: Id
    amount: AmountMinor
    currency: Currency
    payee: Payee
    reference: Annotated[str, StringConstraints(max_length=140), PII] | None = None
    mfa: MfaResult | None = Field(default=None, description="step-up: the MFA result")
    mfa_method: MfaMethod | None = None
    device: Device | None = None
    ip: IpAddress | None = None
    geo: Geo | None = None


class Login(EventBase):
    """A login or session start, successful or not."""

    event_type: Literal["login"]
    customer_id: Id
    account_id: Id | None = None
    success: bool
    failure_reason: Literal["bad_password", "bad_mfa", "locked", "unknown_user"] | None = None
    mfa: MfaResult | None = None
    mfa_method: MfaMethod | None = None
    session_id: Id | None = None
    device: Device
    ip: IpAddress
    geo: Geo | None = None


_CHANGE_FIELD = {
    "email": "new_email",
    "phone": "new_phone",
    "address": "new_address",
    "name": "new_name",
    "payee_added": "payee",
}


class AccountChange(EventBase):
    """A change to who can reach or move money from an account."""

    event_type: Literal["account_change"]
    customer_id: Id
    account_id: Id | None = None
    change: Literal["email", "phone", "address", "name", "payee_added", "password", "mfa_reset"]
    new_email: Email | None = None
    new_phone: Phone | None = None
    new_address: Address | None = None
    new_name: Name | None = None
    payee: Payee | None = None
    mfa: MfaResult | None = Field(default=None, description="step-up: the MFA result")
    mfa_method: MfaMethod | None = None
    device: Device | None = None
    ip: IpAddress | None = None
    geo: Geo | None = None

    @model_validator(mode="after")
    def _carries_new_value(self) -> Self:
        needed = _CHANGE_FIELD.get(self.change)
        if needed and getattr(self, needed) is None:
            raise ValueError(f"{needed}: change {self.change!r} needs {needed}")
        return self


class ChallengeResult(EventBase):
    """How a step-up challenge (MFA or 3-D Secure) that a decision asked for ended."""

    event_type: Literal["challenge_result"]
    customer_id: Id
    account_id: Id | None = None
    challenged_event_id: Id = Field(description="the event whose decision said challenge")
    decision_id: Id | None = None
    method: Literal["3ds", "mfa"] = Field(description="the decision's step_up")
    mfa_method: MfaMethod | None = None
    result: Literal["passed", "failed", "abandoned", "expired"]
    device: Device | None = None
    ip: IpAddress | None = None
    geo: Geo | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.mfa_method is not None and self.method != "mfa":
            raise ValueError("mfa_method: only for method mfa")
        if self.challenged_event_id == self.event_id:
            raise ValueError("challenged_event_id: the challenged event, not this result")
        return self


class IdentityDocument(Contract):
    type: Literal["passport", "national_id", "driving_licence", "residence_permit"]
    number: DocumentNumber
    issuing_country: Country
    expires_on: date | None = None


class Person(Contract):
    first_name: Name
    last_name: Name
    date_of_birth: Annotated[date, PII] | None = None
    nationality: Country | None = None
    email: Email | None = None
    phone: Phone | None = None
    address: Address | None = None
    document: IdentityDocument | None = None


class Business(Contract):
    legal_name: Text
    registration_number: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    country: Country
    incorporated_on: date | None = None
    address: Address | None = None


class DocumentCheck(Contract):
    result: Literal["pass", "fail", "review"]
    provider: Text | None = None
    checked_at: Timestamp | None = None
    reasons: list[Text] = Field(default_factory=list, max_length=20)


class KycRecord(EventBase):
    """The KYC (person) or KYB (business) state of a customer."""

    event_type: Literal["kyc_record"]
    customer_id: Id
    subject: Literal["person", "business"]
    person: Person | None = None
    business: Business | None = None
    verification_status: Literal["pending", "verified", "rejected", "expired"]
    document_check: DocumentCheck | None = None
    risk_rating: Literal["low", "medium", "high"] | None = None
    next_review_on: date | None = Field(
        default=None, description="the next periodic review; else set by the risk rating"
    )

    @model_validator(mode="after")
    def _subject_present(self) -> Self:
        if getattr(self, self.subject) is None:
            raise ValueError(
                f"{self.subject}: subject {self.subject!r} needs the {self.subject} object"
            )
        return self


class Employment(Contract):
    status: Literal["employed", "self_employed", "unemployed", "retired", "student"]
    months_in_job: Annotated[int, BeforeValidator(reject_bool), Field(ge=0, le=720)] | None = None
    level: Literal["unskilled", "skilled", "management"] | None = Field(
        default=None, description="the job's skill level"
    )


Count = Annotated[int, BeforeValidator(reject_bool), Field(ge=0, le=100)]


class Bureau(Contract):
    """Bureau-style attributes of the applicant's credit file."""

    credit_history: Literal["no_credit", "all_paid_here", "paid_duly", "past_delay", "critical"]
    existing_credits: Count = 0
    other_installment_plans: Literal["none", "bank", "stores"] = "none"
    delinquencies_24m: Count = Field(default=0, description="payments 30+ days late, 24 months")
    bankruptcy: bool = False
    score: Annotated[int, BeforeValidator(reject_bool), Field(ge=0, le=1000)] | None = Field(
        default=None, description="the bureau's own score, recorded as sent"
    )


class CreditApplication(EventBase):
    """An application for a loan or a credit line: applicant, income, obligations, bureau
    attributes and the amount asked for."""

    event_type: Literal["credit_application"]
    product: Literal["loan", "credit_line"]
    customer_id: Id | None = None
    applicant: Person
    requested_amount: AmountMinor = Field(description="loan amount or credit limit asked for")
    currency: Currency
    term_months: Annotated[int, BeforeValidator(reject_bool), Field(ge=1, le=480)] | None = Field(
        default=None, description="loans: required; credit lines: none"
    )
    purpose: (
        Literal[
            "car_new",
            "car_used",
            "furniture",
            "radio_tv",
            "appliances",
            "repairs",
            "education",
            "retraining",
            "business",
            "other",
        ]
        | None
    ) = None
    monthly_income: AmountMinor = Field(description="net monthly income")
    monthly_obligations: AmountMinor = Field(
        default=0, description="existing monthly debt payments and rent"
    )
    dependents: Count = 0
    housing: Literal["rent", "own", "free"]
    months_at_address: Annotated[int, BeforeValidator(reject_bool), Field(ge=0, le=1200)] | None = (
        None
    )
    property: Literal["real_estate", "savings_or_insurance", "car_or_other", "none"] = "none"
    checking_balance: (
        Annotated[int, BeforeValidator(reject_bool), Field(ge=-(10**12), le=10**12)] | None
    ) = Field(default=None, description="minor units; none: no checking account")
    savings_balance: AmountMinor | None = Field(default=None, description="none: unknown or none")
    guarantor: Literal["none", "co_applicant", "guarantor"] = "none"
    employment: Employment
    bureau: Bureau
    device: Device | None = None
    ip: IpAddress | None = None
    geo: Geo | None = None

    @model_validator(mode="after")
    def _product_terms(self) -> Self:
        if self.product == "loan" and self.term_months is None:
            raise ValueError("term_months: a loan needs its term")
        if self.product == "loan" and self.purpose is None:
            raise ValueError("purpose: a loan needs its purpose")
        if self.product == "credit_line" and self.term_months is not None:
            raise ValueError("term_months: a credit line has no term")
        if self.requested_amount <= 0:
            raise ValueError("requested_amount: must be more than 0")
        return self


# Reason-code shapes of the networks whose codes riskloop interprets (issue: labels).
_REASON_CODE_SHAPE = {
    "visa": (re.compile(r"^[0-9]{2}\.[0-9]{1,2}$"), "Visa reason codes look like 10.4"),
    "mastercard": (re.compile(r"^[0-9]{4}$"), "Mastercard reason codes look like 4837"),
}


class Dispute(EventBase):
    """A dispute or chargeback at one of its stages, with the network's reason code."""

    event_type: Literal["dispute"]
    original_event_id: Id | None = None
    stage: Literal["inquiry", "chargeback", "pre_arbitration", "arbitration", "reversal"]
    network: Literal["visa", "mastercard", "amex", "discover", "jcb", "unionpay", "other"]
    reason_code: Annotated[str, StringConstraints(min_length=1, max_length=16)]
    amount: AmountMinor
    currency: Currency
    card: Card
    merchant_id: Id | None = None

    @model_validator(mode="after")
    def _reason_code_shape(self) -> Self:
        shape = _REASON_CODE_SHAPE.get(self.network)
        if shape and not shape[0].match(self.reason_code):
            raise ValueError(f"reason_code: {shape[1]}")
        return self


class LedgerEntry(EventBase):
    """A posted debit or credit on an account, from the core ledger."""

    event_type: Literal["ledger_entry"]
    account_id: Id
    customer_id: Id | None = None
    entry: Literal["debit", "credit"]
    amount: AmountMinor
    currency: Currency
    balance_after: (
        Annotated[int, BeforeValidator(reject_bool), Field(ge=-(10**15), le=10**15)] | None
    ) = None
    category: Text | None = None
    counterparty_id: Id | None = None
    description: Annotated[str, StringConstraints(max_length=256), PII] | None = None


LABEL_KIND = Literal[
    "chargeback", "dispute", "refund_fraud", "analyst", "customer_report", "confirmed_good"
]
_LABEL_ID_PREFIX = "label:"


class LabelMatch(Contract):
    """Keys that find the labelled card payment when the sender does not have riskloop's
    event id (an acquirer's chargeback file): the card, the amount and the day."""

    card: Card
    amount: AmountMinor
    currency: Currency
    on: date = Field(description="the day of the payment (UTC); matched within a day either side")
    merchant_id: Id | None = None


class LabelRecord(EventBase):
    """An outcome learnt about an earlier event: a chargeback, dispute, refund for fraud,
    analyst verdict, customer report or confirmation that it was genuine."""

    event_type: Literal["label"]
    kind: LABEL_KIND
    target_event_id: Id | None = Field(default=None, description="the labelled event")
    match: LabelMatch | None = None
    fraud: bool | None = Field(
        default=None,
        description="analyst: required; chargeback and dispute: from the reason code; "
        "the other kinds imply it",
    )
    network: (
        Literal["visa", "mastercard", "amex", "discover", "jcb", "unionpay", "other"] | None
    ) = None
    reason_code: Annotated[str, StringConstraints(min_length=1, max_length=16)] | None = None
    reversal: bool = Field(default=False, description="the chargeback was reversed (won back)")
    amount: AmountMinor | None = None
    currency: Currency | None = None
    author: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    case_id: Id | None = None
    note: Annotated[str, StringConstraints(min_length=1, max_length=2000), PII] | None = None
    unmatched: Text | None = Field(
        default=None, description="set by riskloop: why the match keys found no single event"
    )
    matched_from: Id | None = Field(
        default=None, description="set by riskloop: the pending label this one matched"
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if not self.event_id.startswith(_LABEL_ID_PREFIX):
            raise ValueError(f"event_id: a label's event id starts with {_LABEL_ID_PREFIX!r}")
        if self.target_event_id is None and self.match is None:
            raise ValueError("target_event_id: give the labelled event's id or match keys")
        if self.kind in ("chargeback", "dispute"):
            self._network_verdict()
        elif self.kind in IMPLIED_FRAUD:
            implied = IMPLIED_FRAUD[self.kind]
            if self.fraud is not None and self.fraud != implied:
                raise ValueError(f"fraud: a {self.kind} label is fraud={str(implied).lower()}")
            object.__setattr__(self, "fraud", implied)  # frozen: set once, while validating
        elif self.fraud is None:
            raise ValueError(f"fraud: required for {self.kind} labels")
        return self

    def _network_verdict(self) -> None:
        if self.network is None or self.reason_code is None:
            raise ValueError(f"reason_code: a {self.kind} label needs network and reason_code")
        shape = _REASON_CODE_SHAPE.get(self.network)
        if shape and not shape[0].match(self.reason_code):
            raise ValueError(f"reason_code: {shape[1]}")
        coded = is_fraud_reason(self.network, self.reason_code)
        verdict: bool | None = False if self.reversal else (True if coded else None)
        if self.fraud is not None and self.fraud != verdict:
            raise ValueError(
                "fraud: given by the reason code and reversal flag for chargebacks; leave it out"
            )
        object.__setattr__(self, "fraud", verdict)
