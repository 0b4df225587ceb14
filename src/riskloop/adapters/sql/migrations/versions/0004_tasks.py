"""Operational tasks (alerts, failed jobs, screening hits) and their notification outbox.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from riskloop.adapters.sql.schema import Id64, Json, UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tasks",
        sa.Column("id", Id64, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("detail", Json, nullable=False),
        sa.Column("owner", sa.String(100), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("due_at", UtcDateTime, nullable=True),
        sa.Column("runbook_url", sa.Text, nullable=True),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("occurrences", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("notes", Json, nullable=False),
    )
    op.create_index("ix_tasks_status_owner", "tasks", ["status", "owner"])
    op.create_index("ix_tasks_key", "tasks", ["key"])
    # At most one active task per key: the database backs the dedupe done under the audit lock.
    op.create_index(
        "ux_tasks_active_key",
        "tasks",
        ["key"],
        unique=True,
        sqlite_where=sa.text("status IN ('open', 'in_progress')"),
        postgresql_where=sa.text("status IN ('open', 'in_progress')"),
    )
    op.create_table(
        "task_notifications",
        sa.Column("id", Id64, primary_key=True, autoincrement=True),
        sa.Column("task_id", Id64, nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", UtcDateTime, nullable=False),
        sa.Column("delivered_at", UtcDateTime, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
    )
    op.create_index(
        "ix_task_notifications_pending", "task_notifications", ["delivered_at", "next_attempt_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_task_notifications_pending", table_name="task_notifications")
    op.drop_table("task_notifications")
    op.drop_index("ux_tasks_active_key", table_name="tasks")
    op.drop_index("ix_tasks_key", table_name="tasks")
    op.drop_index("ix_tasks_status_owner", table_name="tasks")
    op.drop_table("tasks")
