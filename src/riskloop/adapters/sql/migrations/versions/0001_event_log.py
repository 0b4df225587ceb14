"""Event log and dead letters.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from riskloop.adapters.sql.schema import Id64, Json, UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_log",
        sa.Column("seq", Id64, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(128), nullable=False, unique=True),
        sa.Column("event_type", sa.String(32), nullable=False),
        sa.Column("schema_version", sa.SmallInteger, nullable=False),
        sa.Column("occurred_at", UtcDateTime, nullable=False),
        sa.Column("ingested_at", UtcDateTime, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("source", sa.String(256), nullable=False),
        sa.Column("data", Json, nullable=False),
        sa.Column("pii_ciphertext", sa.LargeBinary, nullable=True),
        sa.Column("pii_wrapped_key", sa.LargeBinary, nullable=True),
        sa.Column("pii_key_version", sa.Integer, nullable=True),
    )
    op.create_index("ix_event_log_type_time", "event_log", ["event_type", "occurred_at"])
    op.create_index("ix_event_log_pii_key_version", "event_log", ["pii_key_version"])
    op.create_table(
        "dead_letters",
        sa.Column("id", Id64, primary_key=True, autoincrement=True),
        sa.Column("received_at", UtcDateTime, nullable=False),
        sa.Column("source", sa.String(256), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False, unique=True),
        sa.Column("payload_ciphertext", sa.LargeBinary, nullable=False),
        sa.Column("payload_wrapped_key", sa.LargeBinary, nullable=False),
        sa.Column("payload_key_version", sa.Integer, nullable=False),
    )
    op.create_index("ix_dead_letters_key_version", "dead_letters", ["payload_key_version"])


def downgrade() -> None:
    op.drop_table("dead_letters")
    op.drop_table("event_log")
