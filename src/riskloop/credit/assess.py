"""The credit step of a decision on an application, after the policy has spoken: the offer
(grade, price, amount) and, for a decline or a counter-offer, the adverse-action notice.

Two things it may change, both recorded as reasons: an approval or review with nothing
affordable becomes a decline (``CREDIT_UNAFFORDABLE``), and an approval without a model
score goes to review (``CREDIT_UNSCORED``: a person underwrites it).

The notice's reasons are the causes of the outcome: the decline rules that hit when a rule
declined; otherwise the inputs that raised the probability of default most.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from riskloop.credit.notice import Notice, notice
from riskloop.credit.terms import DEFAULT_TABLE, Offer, PriceTable, offer

UNAFFORDABLE = "CREDIT_UNAFFORDABLE"
UNSCORED = "CREDIT_UNSCORED"


@dataclass(frozen=True, slots=True)
class CreditResult:
    product: str
    currency: str
    requested: int  # minor units
    offer: Offer | None  # approve and review: what is (or would be) offered
    notice: Notice | None  # decline and counter-offer

    def as_dict(self) -> dict[str, Any]:
        return {
            "product": self.product,
            "currency": self.currency,
            "requested": self.requested,
            "offer": self.offer.as_dict() if self.offer else None,
            "notice": self.notice.as_dict() if self.notice else None,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CreditResult:
        return cls(
            d["product"],
            d["currency"],
            d["requested"],
            Offer.from_dict(d["offer"]) if d.get("offer") else None,
            Notice.from_dict(d["notice"]) if d.get("notice") else None,
        )


def money(minor: int, currency: str) -> str:
    """An amount as a notice writes it.

    >>> money(123456, "EUR")
    '1,234.56 EUR'
    """
    return f"{minor / 100:,.2f} {currency}"


@dataclass(frozen=True, slots=True)
class Assessed:
    outcome: str  # the Outcome value, possibly changed (see the module's docstring)
    reasons: tuple[str, ...]  # reason codes to add
    result: CreditResult


def assess(
    app: Mapping[str, Any],
    *,
    event_id: str,
    outcome: str,
    pd: float | None,
    declined_by: Sequence[tuple[str, str]],
    drivers: Sequence[tuple[str, str]],
    values: Mapping[str, Any],
    decided_on: str,
    table: PriceTable | None = None,
) -> Assessed:
    """``declined_by``: (reason code, rule text) of the decline rules that hit, in policy
    order; ``drivers``: (reason code, model input) of the score's largest contributions."""
    currency, requested = str(app["currency"]), int(app["requested_amount"])
    product = str(app["product"])
    added: list[str] = []
    proposed = offer(app, pd, table or DEFAULT_TABLE) if pd is not None else None
    if outcome in ("approve", "review") and proposed is not None and proposed.amount == 0:
        outcome, added = "decline", [UNAFFORDABLE]
    if outcome == "approve" and proposed is None:
        outcome, added = "review", [UNSCORED]

    def notice_of(causes: Sequence[tuple[str, str | None]], counter: str | None) -> Notice:
        return notice(
            causes,
            values,
            event_id=event_id,
            product=product,
            decided_on=decided_on,
            counter_offer=counter,
            texts=dict(declined_by),
        )

    model_causes: list[tuple[str, str | None]] = [(code, f) for code, f in drivers]
    if outcome == "decline":
        causes: list[tuple[str, str | None]] = [(c, None) for c in added]
        causes += [(code, None) for code, _ in declined_by] or model_causes
        result = CreditResult(product, currency, requested, None, notice_of(causes, None))
    elif outcome == "approve" and proposed is not None and proposed.counter_offer:
        counter = money(proposed.amount, currency)
        result = CreditResult(
            product,
            currency,
            requested,
            proposed,
            notice_of([(UNAFFORDABLE, None), *model_causes], counter),
        )
    else:
        result = CreditResult(product, currency, requested, proposed, None)
    return Assessed(outcome, tuple(added), result)
