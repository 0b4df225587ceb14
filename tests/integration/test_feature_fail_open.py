"""A stored event stays stored when the online features cannot be brought up to date."""

from __future__ import annotations

from riskloop.adapters.sql import SqlEventLog
from riskloop.bootstrap import Riskloop
from riskloop.domain.events import AppendStatus, StoredEvent
from riskloop.errors import StorageError
from riskloop.features import FeatureEngine, MemoryState, load_feature_set
from riskloop.service import Ingestor
from riskloop.service.features import FeatureService
from tests.support.factories import card_payment


class _LogThatCannotBeRead(SqlEventLog):
    def scan(self, *, after_seq: int = 0, limit: int = 1000) -> list[StoredEvent]:
        raise StorageError("event log read failed: OperationalError")


def test_ingest_succeeds_and_counts_the_failure_when_catch_up_fails(rl: Riskloop) -> None:
    log = _LogThatCannotBeRead(rl.engine)
    features = FeatureService(FeatureEngine(load_feature_set(), MemoryState()), log)
    ingestor = Ingestor(vault=rl.vault, events=log, dead_letters=rl.dead_letters, features=features)
    outcome = ingestor.ingest(card_payment())
    assert outcome.status is AppendStatus.ACCEPTED
    assert features.failures == 1
    assert rl.events.count() == 1
