"""Safe change and monitoring: backtests, canaries, monitor reports, scheduled job runs.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from riskloop.adapters.sql.schema import Id64, Json, UtcDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "backtests",
        sa.Column("backtest_id", sa.String(48), primary_key=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("spec", Json, nullable=False),
        sa.Column("report", Json, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("finished_at", UtcDateTime, nullable=True),
    )
    op.create_index("ix_backtests_created", "backtests", ["created_at"])
    op.create_table(
        "canaries",
        sa.Column("canary_id", sa.String(48), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("body", Json, nullable=False),
    )
    op.create_index(
        "ux_canaries_running",
        "canaries",
        ["event_type"],
        unique=True,
        sqlite_where=sa.text("status = 'running'"),
        postgresql_where=sa.text("status = 'running'"),
    )
    op.create_table(
        "monitor_reports",
        sa.Column("id", Id64, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("scope", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("body", Json, nullable=False),
    )
    op.create_index("ix_monitor_reports_kind", "monitor_reports", ["kind", "scope", "created_at"])
    op.create_table(
        "job_runs",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("next_due_at", UtcDateTime, nullable=False),
        sa.Column("lease_owner", sa.String(100), nullable=True),
        sa.Column("lease_until", UtcDateTime, nullable=True),
        sa.Column("last_started_at", UtcDateTime, nullable=True),
        sa.Column("last_finished_at", UtcDateTime, nullable=True),
        sa.Column("last_status", sa.String(16), nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("runs", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("job_runs")
    op.drop_index("ix_monitor_reports_kind", "monitor_reports")
    op.drop_table("monitor_reports")
    op.drop_index("ux_canaries_running", "canaries")
    op.drop_table("canaries")
    op.drop_index("ix_backtests_created", "backtests")
    op.drop_table("backtests")
