"""The composition root: the only place that turns Settings into concrete adapters.

Nothing opens a connection at import time; ``build`` does, and tests pass overrides (an
in-memory key store, a prepared engine) instead of patching internals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import orjson
from sqlalchemy import Engine

from riskloop.adapters.keystore import FileKeyStore
from riskloop.adapters.model_files import FileArtifacts
from riskloop.adapters.sql import (
    SqlCatalogStore,
    SqlDeadLetters,
    SqlDecisionLedger,
    SqlEventLog,
    SqlLabelIndex,
    SqlModelStore,
    SqlSealedRecords,
    make_engine,
    upgrade,
)
from riskloop.adapters.sql.access import SqlAccessStore
from riskloop.adapters.sql.audit import SqlAuditStore
from riskloop.adapters.sql.cases import SqlCaseStore
from riskloop.adapters.sql.entity_index import SqlEntityIndex
from riskloop.adapters.sql.feature_backlog import SqlFeatureBacklog
from riskloop.adapters.sql.monitoring import SqlMonitoring
from riskloop.adapters.sql.outbox import SqlOutbox
from riskloop.adapters.sql.release import SqlBacktests, SqlCanaries
from riskloop.adapters.sql.retention import SqlRetentionStore
from riskloop.adapters.sql.screening import SqlScreeningStore
from riskloop.adapters.sql.tasks import SqlTaskStore
from riskloop.adapters.webhook import WebhookNotifier
from riskloop.cases.tasks import TaskService
from riskloop.config import Settings
from riskloop.domain.ports import KeyStore
from riskloop.errors import ConfigError
from riskloop.features import FeatureEngine, FeatureSet, FeatureState, MemoryState, load_feature_set
from riskloop.pipeline import Pipeline
from riskloop.rules.lists import Protector
from riskloop.scoring import Scorer, default_scorer
from riskloop.scoring.linear import LogisticScorer
from riskloop.screening.match import Thresholds
from riskloop.screening.records import parse_review_days
from riskloop.service import Ingestor
from riskloop.service.access import AccessService
from riskloop.service.audit import AuditService
from riskloop.service.backtest import BacktestService
from riskloop.service.bus import EventBus, Subjects
from riskloop.service.canary import CanaryService
from riskloop.service.cases import CaseService
from riskloop.service.catalog import CatalogService
from riskloop.service.credit import CreditService
from riskloop.service.decisions import DecisionService
from riskloop.service.entity_index import EntityIndexer
from riskloop.service.features import FeatureService, iterate_log
from riskloop.service.kyc import KycService
from riskloop.service.labels import LabelService
from riskloop.service.models import ModelService, ModelSlots
from riskloop.service.monitoring import MonitoringService
from riskloop.service.outbox import OutboxRelay
from riskloop.service.retention import RetentionService
from riskloop.service.retention_policy import retention_policy
from riskloop.service.screening import ScreeningService
from riskloop.training.registry import ModelRegistry, ModelVersion
from riskloop.vault import Keyring, Vault
from riskloop.vault.hashing import pan_token


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
    features: FeatureService
    catalog: CatalogService
    ledger: SqlDecisionLedger
    decisions: DecisionService
    models: ModelService
    labels: LabelService
    tasks: TaskService
    notifier: WebhookNotifier | None  # delivers task notifications; started by `serve`
    cases: CaseService
    backtests: BacktestService
    canaries: CanaryService
    monitoring: MonitoringService
    screening: ScreeningService
    kyc: KycService
    credit: CreditService
    retention: RetentionService
    access: AccessService
    audit: AuditService
    entities: EntityIndexer
    outbox: SqlOutbox | None = None  # publishing on (RISKLOOP_BUS=nats): what the relay drains

    def close(self) -> None:
        self.features.engine.close()
        self.ledger.close()
        self.events.close()
        self.engine.dispose()


def feature_state(settings: Settings, fs: FeatureSet) -> FeatureState:
    if settings.feature_store == "redis":
        from riskloop.adapters.redis_features import RedisState

        # The prefix names the definitions' content: changed features start from fresh state.
        prefix = f"rl:{fs.name}:{fs.fingerprint[:12]}:"
        return RedisState.connect(settings.redis_url.get(), prefix=prefix)
    return MemoryState()


def scorer(settings: Settings) -> Scorer:
    """The model the decision path uses: a LightGBM model file if one is configured,
    otherwise the built-in points model."""
    if settings.model_path is not None:
        from riskloop.adapters.lightgbm_scorer import LightGBMScorer

        try:
            return LightGBMScorer.from_file(settings.model_path, name=settings.model_path.stem)
        except ValueError as exc:  # a model the scorer refuses says why
            raise ConfigError("RISKLOOP_MODEL_PATH", str(exc)) from None
        except Exception as exc:  # LightGBM raises its own error types for a bad file
            reason = f"not a LightGBM model file ({type(exc).__name__})"
            raise ConfigError("RISKLOOP_MODEL_PATH", reason) from None
    return default_scorer()


def load_scorer(version: ModelVersion, artifact: bytes) -> Scorer:
    """A registered model as a scorer; ``ValueError`` for one it cannot serve."""
    if version.kind == "lightgbm":
        import lightgbm

        from riskloop.adapters.lightgbm_scorer import LightGBMScorer

        try:
            booster = lightgbm.Booster(model_str=artifact.decode())
        except lightgbm.basic.LightGBMError as exc:
            raise ValueError(f"not a LightGBM model: {exc}") from None
        return LightGBMScorer(booster, name=version.ref)
    if version.kind == "logistic":
        # Named like every scorer: the version and its content, e.g. fraud@2+3f2a9c1e.
        return LogisticScorer(orjson.loads(artifact), name=f"{version.ref}+{version.sha256[:8]}")
    if version.kind in ("credit_lightgbm", "credit_scorecard"):
        from riskloop.adapters.credit_scorer import load_credit_scorer

        return load_credit_scorer(version.kind, artifact, name=version.ref)
    raise ValueError(f"unknown model kind {version.kind!r}")


def build(
    settings: Settings,
    *,
    migrate: bool | None = None,
    keystore: KeyStore | None = None,
    engine: Engine | None = None,
    feature_set: FeatureSet | None = None,
    rebuild_features: bool = True,
) -> Riskloop:
    """Wire a process. In-process feature state is rebuilt from the event log and then
    follows it. ``rebuild_features=False`` is for commands that never read live features
    (an import, key rotation): their ingestion leaves in-process state alone, since that
    state dies with the command; shared (Redis) state is still updated."""
    engine = engine or make_engine(
        settings.database_url.get(), sqlite_synchronous=settings.sqlite_synchronous
    )
    if settings.auto_migrate if migrate is None else migrate:
        upgrade(engine)
    keyring = Keyring.open(keystore or FileKeyStore(settings.keyring_path))
    vault = Vault(keyring)
    events, dead_letters = SqlEventLog(engine), SqlDeadLetters(engine)
    fs = feature_set or load_feature_set(settings.feature_set_path)
    state = feature_state(settings, fs)
    in_process = isinstance(state, MemoryState)
    features = FeatureService(
        FeatureEngine(fs, state),
        events,
        follow_log=in_process,
        backlog=None if in_process else SqlFeatureBacklog(engine),
    )
    if rebuild_features and in_process:
        features.rebuild()
    feed_features = not in_process or rebuild_features
    ingestor = Ingestor(
        vault=vault,
        events=events,
        dead_letters=dead_letters,
        max_batch=settings.max_batch,
        features=features if feed_features else None,
    )
    protector = Protector(
        pan_token=lambda pan: pan_token(keyring.token_key, pan),
        email_hash=lambda email: vault.match_hash("email", email),
    )
    catalog = CatalogService(SqlCatalogStore(engine), fs, protector)
    # Publishing on: new decisions and tasks write outbox rows with their records.
    publish = Subjects(settings.nats_prefix) if settings.bus == "nats" else None
    ledger = SqlDecisionLedger(engine, outbox=publish)
    registry = ModelRegistry(SqlModelStore(engine), FileArtifacts(settings.data_dir / "models"))
    task_store = SqlTaskStore(engine, outbox=publish)
    tasks = TaskService(task_store)
    screening_store = SqlScreeningStore(engine)
    screening = ScreeningService(
        screening_store,
        vault,
        tasks=tasks,
        thresholds=Thresholds(alert=settings.screening_alert, ignore=settings.screening_ignore),
    )
    slots = ModelSlots(registry, load_scorer, scorer(settings))
    models = ModelService(registry, slots, lambda: iterate_log(events), fs)
    decisions = DecisionService(
        ingestor=ingestor,
        features=features,
        catalog=catalog,
        pipeline=Pipeline(None, models=slots),
        ledger=ledger,
        deadline_ms=settings.decision_deadline_ms,
        screening=screening,
    )
    labels = LabelService(
        ingestor=ingestor,
        events=events,
        index=SqlLabelIndex(engine),
        card_token=lambda pan: pan_token(keyring.token_key, pan),
    )
    notifier = (
        WebhookNotifier(task_store, settings.task_webhook_url)
        if settings.task_webhook_url is not None
        else None
    )
    cases = CaseService(
        store=SqlCaseStore(engine),
        decisions=ledger,
        events=events,
        labels=labels,
        vault=vault,
        tasks=tasks,
        four_eyes=settings.four_eyes_actions,
    )
    backtests = BacktestService(
        catalog=catalog,
        recorded=ledger,
        log_source=lambda: iterate_log(events),
        feature_set=fs,
        model=models.scorer,
        champion=lambda event_type: slots.for_event(event_type)[0],
        labels=labels.standing,
        store=SqlBacktests(engine),
    )
    canaries = CanaryService(
        store=SqlCanaries(engine),
        catalog=catalog,
        models=models,
        decisions=ledger,
        verdicts=labels.verdicts,
        tasks=tasks,
        pipeline=decisions.pipeline,
    )
    monitor_store = SqlMonitoring(engine)
    monitoring = MonitoringService(
        reports=monitor_store,
        decisions=monitor_store,
        events=events,
        dead_letters=dead_letters,
        labels=labels.standing,
        tasks=tasks,
        runbooks=tasks.runbooks,
    )
    return Riskloop(
        settings=settings,
        engine=engine,
        keyring=keyring,
        vault=vault,
        events=events,
        dead_letters=dead_letters,
        sealed=SqlSealedRecords(engine),
        ingestor=ingestor,
        features=features,
        catalog=catalog,
        ledger=ledger,
        decisions=decisions,
        models=models,
        labels=labels,
        tasks=tasks,
        notifier=notifier,
        cases=cases,
        backtests=backtests,
        canaries=canaries,
        monitoring=monitoring,
        screening=screening,
        kyc=KycService(
            screening_store,
            events,
            vault,
            screening,
            tasks=tasks,
            review_days=parse_review_days(settings.kyc_review_days),
        ),
        credit=CreditService(models, ledger),
        retention=RetentionService(SqlRetentionStore(engine), retention_policy(settings.retention)),
        access=AccessService(
            SqlAccessStore(engine), vault, session_ttl=timedelta(hours=settings.session_hours)
        ),
        audit=AuditService(SqlAuditStore(engine), keyring.audit_key),
        entities=EntityIndexer(events, SqlEntityIndex(engine)),
        outbox=SqlOutbox(engine) if publish is not None else None,
    )


def outbox_relay(
    rl: Riskloop,
    *,
    url: str | None = None,
    batch: int = 100,
    lease_s: float = 15.0,
    poll_s: float = 0.2,
) -> OutboxRelay:
    """The relay from this process's outbox to NATS (``url``: else ``RISKLOOP_NATS_URL``)."""
    from riskloop.adapters.nats_bus import NatsBus

    s = rl.settings
    nats_url = url or s.nats_url.get()

    async def connect() -> EventBus:
        # One try: the relay's own back-off paces the next ones.
        subjects = Subjects(s.nats_prefix)
        return await NatsBus.connect(
            nats_url, stream=s.nats_stream, subjects=subjects, connect_attempts=1
        )

    return OutboxRelay(
        rl.outbox or SqlOutbox(rl.engine), connect, batch=batch, lease_s=lease_s, poll_s=poll_s
    )
