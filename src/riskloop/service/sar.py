"""Gathering a case's facts for its SAR draft (the draft itself: ``cases/sar.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from riskloop.cases.model import Case
from riskloop.cases.sar import SarLine, build_draft
from riskloop.domain.labels import effective

if TYPE_CHECKING:
    from riskloop.service.cases import CaseService


def assemble(service: CaseService, case: Case, actor: str) -> dict[str, Any]:
    """The draft of ``case``: each decision as a timeline line with its label, the
    subjects its events name, and the notes."""
    case_id = case.case_id
    lines, subjects = [], [{"type": case.entity_type, "id": case.entity_key}]
    seen = {(case.entity_type, case.entity_key)}
    for event_id, decision_id, _ in service.store.items(case_id):
        d = service.decisions.get(decision_id)
        stored = service.events.get(event_id)
        data = stored.data if stored else {}
        standing = effective(service.labels.index.for_events([event_id]))
        lines.append(
            SarLine(
                at=d.occurred_at if d else (stored.occurred_at if stored else case.opened_at),
                event_id=event_id,
                event_type=d.event_type if d else (stored.event_type if stored else "?"),
                outcome=d.outcome.value if d else "?",
                score=d.score if d else None,
                reasons=d.reasons if d else (),
                amount=data.get("amount") if isinstance(data.get("amount"), int) else None,
                currency=data.get("currency"),
                counterparty=_counterparty(data),
                label=None if standing is None else ("fraud" if standing.fraud else "not_fraud"),
            )
        )
        for subject in _subjects(data):
            if (subject["type"], subject["id"]) not in seen:
                seen.add((subject["type"], subject["id"]))
                subjects.append(subject)
    notes = [
        {"at": e["at"], "author": e["actor"], "text": e["note"]}
        for e in service.timeline(case_id)
        if "note" in e
    ]
    now = service.clock()
    return build_draft(case, lines, subjects, notes, prepared_by=actor, now=now)


def _counterparty(data: dict[str, Any]) -> str | None:
    merchant = data.get("merchant") or {}
    if merchant.get("id"):
        return (
            f"merchant {merchant['id']} (MCC {merchant.get('mcc', '?')}, "
            f"{merchant.get('country', '?')})"
        )
    payee = data.get("payee") or {}
    if payee.get("id"):
        return f"payee {payee['id']}"
    return None


def _subjects(data: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if data.get("customer_id"):
        out.append({"type": "customer", "id": data["customer_id"]})
    if data.get("account_id"):
        out.append({"type": "account", "id": data["account_id"]})
    card = data.get("card") or {}
    if card.get("token"):
        masked = f"{str(card.get('bin', ''))[:6]}******{card.get('last4', '')}"
        out.append(
            {
                "type": "card",
                "id": card["token"][:16],
                "masked": masked,
                "country": card.get("country"),
            }
        )
    return out
