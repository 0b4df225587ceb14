"""Deciding while shared feature state or the decision write fails, as a stream worker does
(``require_features``) and as the API does: the worker's event waits and is then decided
with its features, counted once; the API's is decided at once on rules alone.

The state here behaves like Redis (shared: not following the log, recognising the events
it holds by id) but lives in memory, and can be switched off.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import pytest

from riskloop.bootstrap import Riskloop
from riskloop.errors import StorageError
from riskloop.features import FeatureEngine, MemoryState, load_feature_set
from riskloop.features.engine import EventInput, Snapshot, Touch
from riskloop.features.plan import Plan
from riskloop.ledger.records import Decision
from riskloop.pipeline import FEATURES_UNAVAILABLE
from riskloop.service import Ingestor
from riskloop.service.decisions import DecisionService
from riskloop.service.features import FeatureService
from tests.support.factories import card_payment

T = TypeVar("T")
PAN = "4000056655665556"


class _SwitchableState(MemoryState):
    down = False

    def exchange(
        self,
        event: EventInput,
        touches: Sequence[Touch],
        plan: Plan,
        compute: Callable[[Snapshot], T],
        *,
        record: bool = True,
    ) -> T:
        if self.down:
            raise StorageError("feature state unavailable: ConnectionError")
        return super().exchange(event, touches, plan, compute, record=record)


class _Ledger:
    """The real ledger, whose next ``failures`` writes fail as a dropped connection does."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.failures = 0

    def record(self, decision: Decision) -> Decision:
        if self.failures:
            self.failures -= 1
            raise StorageError("decision write failed: OperationalError")
        return self.inner.record(decision)  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.fixture
def parts(rl: Riskloop) -> tuple[DecisionService, _SwitchableState, _Ledger]:
    state = _SwitchableState()
    features = FeatureService(FeatureEngine(load_feature_set(), state), rl.events, follow_log=False)
    ingestor = Ingestor(
        vault=rl.vault, events=rl.events, dead_letters=rl.dead_letters, features=features
    )
    ledger = _Ledger(rl.ledger)
    service = DecisionService(
        ingestor=ingestor,
        features=features,
        catalog=rl.catalog,
        pipeline=rl.decisions.pipeline,
        ledger=ledger,  # type: ignore[arg-type]
    )
    return service, state, ledger


def _payment(n: int) -> dict[str, Any]:
    return card_payment(
        event_id=f"fc-{n}", occurred_at="2026-11-01T12:00:00Z", card={"pan": PAN, "country": "DE"}
    )


def test_a_stream_event_waits_for_the_feature_state_then_is_decided_with_its_features(
    rl: Riskloop, parts: tuple[DecisionService, _SwitchableState, _Ledger]
) -> None:
    service, state, _ = parts
    assert (
        service.decide(_payment(1), require_features=True).decision.features["card_count_7d"] == 0
    )
    state.down = True
    for _ in range(2):  # the first delivery, then a redelivery while still down
        with pytest.raises(StorageError):
            service.decide(_payment(2), require_features=True)
    assert rl.events.get("fc-2") is not None  # stored, so a redelivery is a duplicate
    assert rl.ledger.for_event("fc-2") is None  # and not decided on fallback features

    state.down = False
    done = service.decide(_payment(2), require_features=True)
    assert not done.replayed
    assert FEATURES_UNAVAILABLE not in done.decision.fallbacks
    assert done.decision.features["card_count_7d"] == 1  # counted now, once
    assert service.decide(_payment(2), require_features=True).replayed
    assert service.decide(_payment(3)).decision.features["card_count_7d"] == 2


def test_an_api_decision_falls_back_at_once_when_the_feature_state_is_down(
    parts: tuple[DecisionService, _SwitchableState, _Ledger],
) -> None:
    service, state, _ = parts
    state.down = True
    d = service.decide(_payment(1)).decision
    assert d.fallbacks == (FEATURES_UNAVAILABLE,)
    state.down = False
    assert service.decide(_payment(1)).replayed  # its retry gets that decision back
    # and it stays uncounted until `riskloop features rebuild` replays the log (features.md)
    assert service.decide(_payment(2)).decision.features["card_count_7d"] == 0


def test_a_decision_write_on_a_dropped_connection_is_tried_again_with_the_same_features(
    parts: tuple[DecisionService, _SwitchableState, _Ledger],
) -> None:
    service, _, ledger = parts
    ledger.failures = 1
    done = service.decide(_payment(1), require_features=True)
    assert FEATURES_UNAVAILABLE not in done.decision.fallbacks
    assert done.decision.features["card_count_7d"] == 0


def test_an_event_counted_before_its_decision_failed_is_not_counted_again(
    parts: tuple[DecisionService, _SwitchableState, _Ledger],
) -> None:
    service, _, ledger = parts
    ledger.failures = 2  # the write and its retry
    with pytest.raises(StorageError):
        service.decide(_payment(1), require_features=True)
    again = service.decide(_payment(1), require_features=True).decision
    assert again.fallbacks == (FEATURES_UNAVAILABLE,)  # its vector was not kept
    assert service.decide(_payment(2)).decision.features["card_count_7d"] == 1
