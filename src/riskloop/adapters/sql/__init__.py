"""Records in SQLite (embedded default, WAL) or PostgreSQL, through one SQLAlchemy Core path."""

from riskloop.adapters.sql.catalog import SqlAuditLog, SqlCatalogStore
from riskloop.adapters.sql.dead_letters import SqlDeadLetters
from riskloop.adapters.sql.decisions import SqlDecisionLedger
from riskloop.adapters.sql.engine import make_engine
from riskloop.adapters.sql.event_log import SqlEventLog
from riskloop.adapters.sql.labels import SqlLabelIndex
from riskloop.adapters.sql.migrate import current_revision, upgrade
from riskloop.adapters.sql.models import SqlModelStore
from riskloop.adapters.sql.sealed import SqlSealedRecords

__all__ = [
    "SqlAuditLog",
    "SqlCatalogStore",
    "SqlDeadLetters",
    "SqlDecisionLedger",
    "SqlEventLog",
    "SqlLabelIndex",
    "SqlModelStore",
    "SqlSealedRecords",
    "current_revision",
    "make_engine",
    "upgrade",
]
