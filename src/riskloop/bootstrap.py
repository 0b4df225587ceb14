"""The composition root: the only place that turns Settings into concrete adapters.

Nothing opens a connection at import time; ``build`` does, and tests pass overrides (an
in-memory key store, a prepared engine) instead of patching internals.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from riskloop.adapters.keystore import FileKeyStore
from riskloop.adapters.sql import (
    SqlDeadLetters,
    SqlEventLog,
    SqlSealedRecords,
    make_engine,
    upgrade,
)
from riskloop.config import Settings
from riskloop.domain.ports import KeyStore
from riskloop.service import Ingestor
from riskloop.vault import Keyring, Vault


@dataclass
class Riskloop:
    """Everything a process of riskloop needs, wired once."""

    settings: Settings
    engine: Engine
    keyring: Keyring
    vault: Vault
    events: SqlEventLog
    dead_letters: SqlDeadLetters
    sealed: SqlSealedRecords
    ingestor: Ingestor

    def close(self) -> None:
        self.engine.dispose()


def build(
    settings: Settings,
    *,
    migrate: bool | None = None,
    keystore: KeyStore | None = None,
    engine: Engine | None = None,
) -> Riskloop:
    engine = engine or make_engine(
        settings.database_url.get(), sqlite_synchronous=settings.sqlite_synchronous
    )
    if settings.auto_migrate if migrate is None else migrate:
        upgrade(engine)
    keyring = Keyring.open(keystore or FileKeyStore(settings.keyring_path))
    vault = Vault(keyring)
    events, dead_letters = SqlEventLog(engine), SqlDeadLetters(engine)
    return Riskloop(
        settings=settings,
        engine=engine,
        keyring=keyring,
        vault=vault,
        events=events,
        dead_letters=dead_letters,
        sealed=SqlSealedRecords(engine),
        ingestor=Ingestor(
            vault=vault, events=events, dead_letters=dead_letters, max_batch=settings.max_batch
        ),
    )
