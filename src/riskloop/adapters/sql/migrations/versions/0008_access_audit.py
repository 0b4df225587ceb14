"""Operators: users, API keys, sessions, failed logins, signed audit checkpoints, legal
holds; decisions remember the audit entry that sealed them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from riskloop.adapters.sql.schema import Id64, Json, UtcDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("audit_seq", Id64, nullable=True))
    op.create_index("ix_decisions_audit_seq", "decisions", ["audit_seq"])
    op.create_table(
        "users",
        sa.Column("id", Id64, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("totp_ciphertext", sa.LargeBinary, nullable=False),
        sa.Column("totp_wrapped_key", sa.LargeBinary, nullable=False),
        sa.Column("totp_key_version", sa.Integer, nullable=False),
        sa.Column("totp_last_step", sa.BigInteger, nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("disabled_at", UtcDateTime, nullable=True),
    )
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("scopes", Json, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=True),
        sa.Column("revoked_at", UtcDateTime, nullable=True),
        sa.Column("rotated_to", sa.String(32), nullable=True),
        sa.Column("last_used_at", UtcDateTime, nullable=True),
    )
    op.create_table(
        "sessions",
        sa.Column("session_hash", sa.String(64), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("mfa", sa.Boolean, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_sessions_user", "sessions", ["username"])
    op.create_table(
        "auth_failures",
        sa.Column("id", Id64, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_auth_failures_user_time", "auth_failures", ["username", "at"])
    op.create_table(
        "audit_checkpoints",
        sa.Column("seq", Id64, primary_key=True),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("mac", sa.String(64), nullable=False),
    )
    op.create_table(
        "legal_holds",
        sa.Column("hold_id", sa.String(32), primary_key=True),
        sa.Column("subject", sa.String(16), nullable=False),
        sa.Column("value", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("placed_by", sa.String(100), nullable=False),
        sa.Column("placed_at", UtcDateTime, nullable=False),
        sa.Column("released_by", sa.String(100), nullable=True),
        sa.Column("released_at", UtcDateTime, nullable=True),
    )
    op.create_index("ix_legal_holds_subject", "legal_holds", ["subject", "value"])


def downgrade() -> None:
    op.drop_index("ix_legal_holds_subject", "legal_holds")
    op.drop_table("legal_holds")
    op.drop_table("audit_checkpoints")
    op.drop_index("ix_auth_failures_user_time", "auth_failures")
    op.drop_table("auth_failures")
    op.drop_index("ix_sessions_user", "sessions")
    op.drop_table("sessions")
    op.drop_table("api_keys")
    op.drop_table("users")
    op.drop_index("ix_decisions_audit_seq", "decisions")
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("audit_seq")
