"""Decisions, rules, policies, lists and the audit chain.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from riskloop.adapters.sql.schema import Id64, Json, UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _versioned(name: str, key: str) -> None:
    op.create_table(
        name,
        sa.Column(key, sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("saved_at", UtcDateTime, nullable=False),
        sa.Column("body", Json, nullable=False),
        sa.PrimaryKeyConstraint(key, "version"),
    )


def upgrade() -> None:
    op.create_table(
        "decisions",
        sa.Column("decision_id", sa.String(48), primary_key=True),
        sa.Column("event_id", sa.String(128), nullable=False, unique=True),
        sa.Column("event_type", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("score", sa.Float, nullable=True),
        sa.Column("decided_at", UtcDateTime, nullable=False),
        sa.Column("body", Json, nullable=False),
    )
    op.create_index("ix_decisions_time", "decisions", ["decided_at"])
    op.create_index("ix_decisions_outcome_time", "decisions", ["outcome", "decided_at"])
    _versioned("rules", "rule_id")
    _versioned("policies", "policy_id")
    op.create_table(
        "lists",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("body", Json, nullable=False),
    )
    op.create_table(
        "list_entries",
        sa.Column("list_name", sa.String(64), nullable=False),
        sa.Column("value", sa.String(256), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("added_at", UtcDateTime, nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=True),
        sa.PrimaryKeyConstraint("list_name", "value"),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", Id64, primary_key=True, autoincrement=True),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("detail", Json, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
    )


def downgrade() -> None:
    for table in ("audit_log", "list_entries", "lists", "policies", "rules", "decisions"):
        op.drop_table(table)
