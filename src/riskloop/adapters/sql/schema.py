"""The SQL schema (SQLAlchemy Core). Alembic migrations in ``migrations/`` create it; this
module is what the code reads and writes through."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Dialect,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import DateTime


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware in, UTC stored, timezone-aware out, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Id64 = BigInteger().with_variant(Integer(), "sqlite")  # SQLite only autoincrements INTEGER
Json = JSON().with_variant(JSONB(), "postgresql")

metadata = MetaData()

event_log = Table(
    "event_log",
    metadata,
    Column("seq", Id64, primary_key=True, autoincrement=True),
    Column("event_id", String(128), nullable=False, unique=True),
    Column("event_type", String(32), nullable=False),
    Column("schema_version", SmallInteger, nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("ingested_at", UtcDateTime, nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("source", String(256), nullable=False),
    Column("data", Json, nullable=False),
    Column("pii_ciphertext", LargeBinary, nullable=True),
    Column("pii_wrapped_key", LargeBinary, nullable=True),
    Column("pii_key_version", Integer, nullable=True),
    Column("card_token", String(128), nullable=True),  # card payments only (migration 0005)
    Index("ix_event_log_type_time", "event_type", "occurred_at"),
    Index(
        "ix_event_log_card_token",
        "card_token",
        "occurred_at",
        sqlite_where=text("card_token IS NOT NULL"),
        postgresql_where=text("card_token IS NOT NULL"),
    ),
    Index("ix_event_log_pii_key_version", "pii_key_version"),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("received_at", UtcDateTime, nullable=False),
    Column("source", String(256), nullable=False),
    Column("reason", Text, nullable=False),
    Column("fingerprint", String(64), nullable=False, unique=True),
    Column("payload_ciphertext", LargeBinary, nullable=False),
    Column("payload_wrapped_key", LargeBinary, nullable=False),
    Column("payload_key_version", Integer, nullable=False),
    Index("ix_dead_letters_key_version", "payload_key_version"),
)

# -- decisions, the rule catalogue and the audit chain (migration 0002) ----------------------

decisions = Table(
    "decisions",
    metadata,
    Column("decision_id", String(48), primary_key=True),
    Column("event_id", String(128), nullable=False, unique=True),
    Column("event_type", String(32), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("score", Float, nullable=True),
    Column("decided_at", UtcDateTime, nullable=False),
    Column("body", Json, nullable=False),
    # The audit entry that sealed this record (migration 0008); NULL until the next seal.
    Column("audit_seq", Id64, nullable=True),
    Index("ix_decisions_time", "decided_at"),
    Index("ix_decisions_audit_seq", "audit_seq"),
    Index("ix_decisions_outcome_time", "outcome", "decided_at"),
)

rules = Table(
    "rules",
    metadata,
    Column("rule_id", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("saved_at", UtcDateTime, nullable=False),
    Column("body", Json, nullable=False),
    PrimaryKeyConstraint("rule_id", "version"),
)

policies = Table(
    "policies",
    metadata,
    Column("policy_id", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("saved_at", UtcDateTime, nullable=False),
    Column("body", Json, nullable=False),
    PrimaryKeyConstraint("policy_id", "version"),
)

lists = Table(
    "lists",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("body", Json, nullable=False),
)

list_entries = Table(
    "list_entries",
    metadata,
    Column("list_name", String(64), nullable=False),
    Column("value", String(256), nullable=False),
    Column("reason", Text, nullable=False),
    Column("author", String(100), nullable=False),
    Column("added_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=True),
    PrimaryKeyConstraint("list_name", "value"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", Id64, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(100), nullable=False),
    Column("action", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("key", String(200), nullable=False),
    Column("detail", Json, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("name", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("body", Json, nullable=False),
    PrimaryKeyConstraint("name", "version"),
)

# Append-only: the current alias is the latest row of its (name, alias).
model_aliases = Table(
    "model_aliases",
    metadata,
    Column("seq", Id64, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False),
    Column("alias", String(32), nullable=False),
    Column("version", Integer, nullable=True),
    Column("previous", Integer, nullable=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(100), nullable=False),
    Column("reason", Text, nullable=False),
)

# How migration 0005 fills event_log.card_token for the card payments stored before it.
CARD_TOKEN_SQL = {
    "postgresql": "((data -> 'card') ->> 'token')",
    "sqlite": "json_extract(data, '$.card.token')",
}

# -- labels and review cases (migration 0005) -------------------------------------------------

# A projection of the ``label`` events of the log (the log is the record; this is the index).
labels = Table(
    "labels",
    metadata,
    Column("label_id", String(128), primary_key=True),
    Column("seq", Id64, nullable=False),
    Column("target_event_id", String(128), nullable=True),
    Column("kind", String(32), nullable=False),
    Column("fraud", Boolean, nullable=True),
    Column("tier", SmallInteger, nullable=False),
    Column("reported_at", UtcDateTime, nullable=False),
    Column("ingested_at", UtcDateTime, nullable=False),
    Column("source", String(256), nullable=False),
    Column("status", String(16), nullable=False),  # open, superseded, informational
    Column("detail", Json, nullable=False),
    Index("ix_labels_target", "target_event_id"),
    Index("ix_labels_reported", "reported_at"),
)

cases = Table(
    "cases",
    metadata,
    Column("case_id", String(48), primary_key=True),
    Column("entity_type", String(32), nullable=False),
    Column("entity_key", String(256), nullable=False),
    Column("queue", String(64), nullable=False),
    Column("priority", SmallInteger, nullable=False),  # 1 high, 2 normal, 3 low
    Column("status", String(24), nullable=False),
    Column("assignee", String(100), nullable=True),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime, nullable=True),
    Column("resolution", String(16), nullable=True),
    Column("labels_pending", Boolean, nullable=False),
    Column("version", Integer, nullable=False),
    Column("body", Json, nullable=False),
    Index("ix_cases_queue", "status", "queue", "priority", "due_at"),
    Index("ix_cases_assignee", "assignee", "status"),
    # One unresolved case per entity and queue: concurrent openers join the same case.
    Index(
        "ux_cases_open_entity",
        "entity_type",
        "entity_key",
        "queue",
        unique=True,
        sqlite_where=text("status <> 'resolved'"),
        postgresql_where=text("status <> 'resolved'"),
    ),
)

case_items = Table(
    "case_items",
    metadata,
    Column("event_id", String(128), primary_key=True),  # a decision joins one case
    Column("case_id", String(48), nullable=False),
    Column("decision_id", String(48), nullable=False),
    Column("added_at", UtcDateTime, nullable=False),
    Index("ix_case_items_case", "case_id"),
)

# The case's timeline: every action, with notes sealed (analysts write names in them).
case_log = Table(
    "case_log",
    metadata,
    Column("seq", Id64, primary_key=True, autoincrement=True),
    Column("case_id", String(48), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(100), nullable=False),
    Column("action", String(32), nullable=False),
    Column("detail", Json, nullable=False),
    Column("note_ciphertext", LargeBinary, nullable=True),
    Column("note_wrapped_key", LargeBinary, nullable=True),
    Column("note_key_version", Integer, nullable=True),
    Index("ix_case_log_case", "case_id", "seq"),
    Index("ix_case_log_key_version", "note_key_version"),
)

# Where followers of the log got to (case projector, round-robin turns).
cursors = Table(
    "cursors",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("position", String(128), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# -- operational tasks and their notification outbox (migration 0004) ------------------------

tasks = Table(
    "tasks",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("title", String(200), nullable=False),
    Column("detail", Json, nullable=False),
    Column("owner", String(100), nullable=True),
    Column("status", String(16), nullable=False),
    Column("due_at", UtcDateTime, nullable=True),
    Column("runbook_url", Text, nullable=True),
    Column("key", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("occurrences", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("notes", Json, nullable=False),
    Index("ix_tasks_status_owner", "status", "owner"),
    Index("ix_tasks_key", "key"),
    # At most one active task per key: the database backs the dedupe done under the lock.
    Index(
        "ux_tasks_active_key",
        "key",
        unique=True,
        sqlite_where=text("status IN ('open', 'in_progress')"),
        postgresql_where=text("status IN ('open', 'in_progress')"),
    ),
)

# The outbox: a row per notification owed, written in the transaction that made the task.
task_notifications = Table(
    "task_notifications",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("task_id", Id64, nullable=False),
    Column("event", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Index("ix_task_notifications_pending", "delivered_at", "next_attempt_at"),
)

# -- safe change and monitoring (migration 0006) ---------------------------------------------

# A backtest: the candidate it replayed, its report when done (kept for the audit of a change).
backtests = Table(
    "backtests",
    metadata,
    Column("backtest_id", String(48), primary_key=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("status", String(16), nullable=False),  # running, done, failed
    Column("spec", Json, nullable=False),
    Column("report", Json, nullable=True),
    Column("error", Text, nullable=True),
    Column("finished_at", UtcDateTime, nullable=True),
    Index("ix_backtests_created", "created_at"),
)

# A canary: a candidate model or policy serving a share of one event type's traffic.
canaries = Table(
    "canaries",
    metadata,
    Column("canary_id", String(48), primary_key=True),
    Column("kind", String(16), nullable=False),  # model, policy
    Column("target", String(64), nullable=False),  # the model name or policy id
    Column("event_type", String(32), nullable=False),
    Column("status", String(16), nullable=False),  # running, promoted, rolled_back, stopped
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("version", Integer, nullable=False),
    Column("body", Json, nullable=False),
    # One running canary per event type: two would split the same traffic twice.
    Index(
        "ux_canaries_running",
        "event_type",
        unique=True,
        sqlite_where=text("status = 'running'"),
        postgresql_where=text("status = 'running'"),
    ),
)

# Drift, performance and freshness reports, newest read by /metrics and the dashboard.
monitor_reports = Table(
    "monitor_reports",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),  # drift, performance, freshness
    Column("scope", String(64), nullable=False),  # the event type, or "" for all
    Column("created_at", UtcDateTime, nullable=False),
    Column("status", String(8), nullable=False),  # ok, warn, alert
    Column("body", Json, nullable=False),
    Index("ix_monitor_reports_kind", "kind", "scope", "created_at"),
)

# The embedded scheduler: when each job is next due, and a lease so one process runs it.
job_runs = Table(
    "job_runs",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("next_due_at", UtcDateTime, nullable=False),
    Column("lease_owner", String(100), nullable=True),
    Column("lease_until", UtcDateTime, nullable=True),
    Column("last_started_at", UtcDateTime, nullable=True),
    Column("last_finished_at", UtcDateTime, nullable=True),
    Column("last_status", String(16), nullable=True),  # ok, failed
    Column("last_error", Text, nullable=True),
    Column("runs", Integer, nullable=False),
)

# -- identity and compliance (migration 0007) ------------------------------------------------

# One row per loaded version of a sanctions/PEP list, with its diff from the one before.
screening_lists = Table(
    "screening_lists",
    metadata,
    Column("source", String(64), nullable=False),  # ofac_sdn, un, opensanctions, ...
    Column("version", Integer, nullable=False),
    Column("loaded_at", UtcDateTime, nullable=False),
    Column("loaded_by", String(100), nullable=False),
    Column("origin", String(500), nullable=False),  # the file or URL (its query string dropped)
    Column("digest", String(64), nullable=False),
    Column("entries", Integer, nullable=False),
    Column("diff", Json, nullable=False),
    PrimaryKeyConstraint("source", "version"),
)

# List entries with the versions they were valid in: [version_from, version_to); the current
# ones have no version_to. A changed entry closes its row and opens a new one.
screening_entries = Table(
    "screening_entries",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("source", String(64), nullable=False),
    Column("entry_id", String(64), nullable=False),
    Column("version_from", Integer, nullable=False),
    Column("version_to", Integer, nullable=True),
    Column("digest", String(64), nullable=False),
    Column("body", Json, nullable=False),
    Index("ix_screening_entries_current", "source", "version_to", "entry_id"),
)

# "Not this customer": an analyst's false-positive decision on one list entry, valid while
# the entry's content (digest) is unchanged and until it expires. The note is sealed.
screening_suppressions = Table(
    "screening_suppressions",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("customer_id", String(128), nullable=False),
    Column("source", String(64), nullable=False),
    Column("entry_id", String(64), nullable=False),
    Column("entry_digest", String(64), nullable=False),
    Column("author", String(100), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=True),
    Column("revoked_at", UtcDateTime, nullable=True),
    Column("revoked_by", String(100), nullable=True),
    Column("note_ciphertext", LargeBinary, nullable=True),
    Column("note_wrapped_key", LargeBinary, nullable=True),
    Column("note_key_version", Integer, nullable=True),
    Index("ix_screening_suppressions_customer", "customer_id"),
    Index("ix_screening_suppressions_key_version", "note_key_version"),
)

# A customer's potential match with a list entry version, found by (re-)screening; one row per
# entry content, so a re-screen finds it again without a second alert.
screening_hits = Table(
    "screening_hits",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("customer_id", String(128), nullable=False),
    Column("source", String(64), nullable=False),
    Column("entry_id", String(64), nullable=False),
    Column("entry_digest", String(64), nullable=False),
    Column("list_version", Integer, nullable=False),
    Column("score", Float, nullable=False),
    Column("status", String(16), nullable=False),  # open, confirmed, false_positive, closed
    Column("match", Json, nullable=False),  # the list side and the evidence kinds: no PII
    Column("first_seen_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("resolved_by", String(100), nullable=True),
    Column("task_id", String(48), nullable=True),
    UniqueConstraint(
        "customer_id", "source", "entry_id", "entry_digest", name="ux_screening_hits_entry"
    ),
    Index("ix_screening_hits_status", "status", "updated_at"),
)

# The KYC/KYB state of a customer, projected from its latest kyc_record event; the subject's
# names, date of birth and document numbers (for screening) are sealed by the vault.
kyc_profiles = Table(
    "kyc_profiles",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("customer_id", String(128), nullable=False, unique=True),
    Column("subject", String(16), nullable=False),  # person, business
    Column("event_id", String(128), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("verification_status", String(16), nullable=False),
    Column("risk_rating", String(8), nullable=True),
    Column("document_check", Json, nullable=True),
    Column("next_review_at", UtcDateTime, nullable=True),
    Column("sanctions_status", String(24), nullable=False),
    Column("pep_status", String(24), nullable=False),
    Column("screened", Json, nullable=False),  # source -> list version last screened against
    Column("screened_at", UtcDateTime, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("version", Integer, nullable=False),
    Column("subject_ciphertext", LargeBinary, nullable=True),
    Column("subject_wrapped_key", LargeBinary, nullable=True),
    Column("subject_key_version", Integer, nullable=True),
    Index("ix_kyc_profiles_review", "next_review_at"),
    Index("ix_kyc_profiles_key_version", "subject_key_version"),
)


# -- access, audit checkpoints and legal holds (migration 0008) -----------------------------

users = Table(
    "users",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),  # key rotation re-wraps by id
    Column("username", String(64), nullable=False, unique=True),
    Column("role", String(32), nullable=False),
    Column("password_hash", String(200), nullable=False),  # argon2id
    # The TOTP secret, sealed by the vault like any PII.
    Column("totp_ciphertext", LargeBinary, nullable=False),
    Column("totp_wrapped_key", LargeBinary, nullable=False),
    Column("totp_key_version", Integer, nullable=False),
    Column("totp_last_step", BigInteger, nullable=True),  # a code is accepted once
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("disabled_at", UtcDateTime, nullable=True),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(32), primary_key=True),  # public part of the key
    Column("name", String(100), nullable=False),
    Column("secret_hash", String(64), nullable=False),  # HMAC-SHA256 of the secret part
    Column("scopes", Json, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("expires_at", UtcDateTime, nullable=True),
    Column("revoked_at", UtcDateTime, nullable=True),
    Column("rotated_to", String(32), nullable=True),
    Column("last_used_at", UtcDateTime, nullable=True),
)

sessions = Table(
    "sessions",
    metadata,
    Column("session_hash", String(64), primary_key=True),  # SHA-256 of the cookie value
    Column("username", String(64), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("mfa", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Index("ix_sessions_user", "username"),
)

auth_failures = Table(
    "auth_failures",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False),
    Column("client", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_auth_failures_user_time", "username", "at"),
)

# A signed head of the audit chain: HMAC over (seq, hash) with a key from the keyring, which
# the database does not hold, so a rewritten chain cannot be re-signed.
audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("seq", Id64, primary_key=True),
    Column("hash", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("mac", String(64), nullable=False),
)

legal_holds = Table(
    "legal_holds",
    metadata,
    Column("hold_id", String(32), primary_key=True),
    Column("subject", String(16), nullable=False),  # customer, event, case
    Column("value", String(128), nullable=False),
    Column("reason", Text, nullable=False),
    Column("placed_by", String(100), nullable=False),
    Column("placed_at", UtcDateTime, nullable=False),
    Column("released_by", String(100), nullable=True),
    Column("released_at", UtcDateTime, nullable=True),
    Index("ix_legal_holds_subject", "subject", "value"),
)

# -- events the shared feature state missed (migration 0010) ---------------------------------

# An API server stores an event and then counts it in Redis; if Redis fails the id lands here
# and any process counts it once Redis answers (the state knows its events by id, so a row
# repaired twice counts once).
feature_backlog = Table(
    "feature_backlog",
    metadata,
    Column("seq", Id64, primary_key=True, autoincrement=True),
    Column("event_id", String(128), nullable=False, unique=True),
    Column("missed_at", UtcDateTime, nullable=False),
    sqlite_autoincrement=True,
)

# -- the entities each stored event names (migration 0011) -----------------------------------

# Built behind the log by the server's follower (service/entity_index.py), never on the write
# path: "the decisions about customer X" without a scan. ``position``: the log seq up to which
# events are indexed; newer events are matched in their JSON (a short tail).
entity_index = Table(
    "entity_index",
    metadata,
    Column("entity", String(16), primary_key=True),
    Column("value", String(200), primary_key=True),
    Column("seq", Id64, primary_key=True),
    Index("ix_entity_index_seq", "seq"),  # retention removes an event's rows by seq
)
index_positions = Table(
    "index_positions",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("position", Id64, nullable=False),
)

# -- the outbox of messages owed to the bus (migration 0009) ---------------------------------

# Written in the transaction of the record it announces; the relay deletes a row once the bus
# acknowledged it. Plain JSON, not JSONB: kept as written (key order too), never queried into.
outbox = Table(
    "outbox",
    metadata,
    Column("seq", Id64, primary_key=True, autoincrement=True),
    Column("subject", String(255), nullable=False),
    Column("msg_id", String(128), nullable=False, unique=True),
    Column("payload", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    sqlite_autoincrement=True,  # a seq is never reused, even once the newest rows are gone
)
