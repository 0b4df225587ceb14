"""The same event sent twice at once: the second request finds it stored and counted but not
yet decided, because the first is still on its way to the ledger. The second must wait for
that decision and answer with it, not decide again without features (which, recorded
first, would become the event's decision: CI saw `serve --workers 2` answer one without
`card_count_1h`). An event stored by a decision that never came (a crash) is not waited on
past the window: its retry is decided, on rules alone."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from riskloop.bootstrap import Riskloop, build
from riskloop.config import Settings
from riskloop.ledger.records import Decision
from riskloop.pipeline import FEATURES_UNAVAILABLE
from riskloop.service.decisions import Decided
from tests.support.factories import card_payment
from tests.support.redis_server import PrivateRedis

PAN = "4111111111111111"


@pytest.fixture(params=["embedded", "redis"])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Riskloop]:
    env = {"RISKLOOP_DATA_DIR": str(tmp_path / "data")}
    server = None
    if request.param == "redis":
        server = PrivateRedis(tmp_path / "redis", durable=False)
        server.start()
        env |= {"RISKLOOP_FEATURE_STORE": "redis", "RISKLOOP_REDIS_URL": server.url}
    rl = build(Settings.from_env(env))
    yield rl
    rl.close()
    if server is not None:
        server.stop()


class SlowFirstRecord:
    """The ledger, with the first decision's write held back until the test lets it go."""

    def __init__(self, ledger: Any) -> None:
        self.ledger = ledger
        self.entered = threading.Event()
        self.release = threading.Event()

    def record(self, decision: Decision) -> Decision:
        if not self.entered.is_set():
            self.entered.set()
            self.release.wait(10)
        return self.ledger.record(decision)  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.ledger, name)


def test_a_duplicate_in_flight_gets_the_first_requests_decision(app: Riskloop) -> None:
    app.decisions.decide(card_payment(event_id="before", card={"pan": PAN}))
    slow = SlowFirstRecord(app.decisions.ledger)
    app.decisions.ledger = slow
    event = card_payment(event_id="twice", card={"pan": PAN})
    first: list[Decided] = []
    thread = threading.Thread(target=lambda: first.append(app.decisions.decide(event)))
    thread.start()
    assert slow.entered.wait(10)  # stored and counted; its decision not yet written
    threading.Timer(0.3, slow.release.set).start()
    second = app.decisions.decide(event)
    thread.join(10)

    assert first[0].replayed is False and second.replayed is True
    assert second.decision.decision_id == first[0].decision.decision_id
    assert FEATURES_UNAVAILABLE not in second.decision.fallbacks
    assert second.decision.features["card_count_1h"] == 1  # counted once: "before" only


def test_a_decision_that_never_came_is_not_waited_on_past_the_window(app: Riskloop) -> None:
    app.decisions.in_flight_s = 0.2
    event = card_payment(event_id="orphan", card={"pan": PAN})
    ingestor = app.ingestor
    ingestor.append_for_decision(ingestor.protect(ingestor.validate(event), source="decision"))
    started = time.monotonic()
    retried = app.decisions.decide(event)
    assert time.monotonic() - started < 5
    assert retried.replayed is False
    assert app.decisions.decide(event).decision.decision_id == retried.decision.decision_id
