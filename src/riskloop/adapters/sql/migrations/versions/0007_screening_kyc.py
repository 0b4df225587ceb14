"""Identity and compliance: sanctions list snapshots, screening hits and suppressions, KYC
profiles.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from riskloop.adapters.sql.schema import Id64, Json, UtcDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _sealed(prefix: str) -> list[sa.Column[Any]]:
    return [
        sa.Column(f"{prefix}_ciphertext", sa.LargeBinary, nullable=True),
        sa.Column(f"{prefix}_wrapped_key", sa.LargeBinary, nullable=True),
        sa.Column(f"{prefix}_key_version", sa.Integer, nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "screening_lists",
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("loaded_at", UtcDateTime, nullable=False),
        sa.Column("loaded_by", sa.String(100), nullable=False),
        sa.Column("origin", sa.String(500), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("entries", sa.Integer, nullable=False),
        sa.Column("diff", Json, nullable=False),
        sa.PrimaryKeyConstraint("source", "version"),
    )
    op.create_table(
        "screening_entries",
        sa.Column("id", Id64, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("entry_id", sa.String(64), nullable=False),
        sa.Column("version_from", sa.Integer, nullable=False),
        sa.Column("version_to", sa.Integer, nullable=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("body", Json, nullable=False),
    )
    op.create_index(
        "ix_screening_entries_current", "screening_entries", ["source", "version_to", "entry_id"]
    )
    op.create_table(
        "screening_suppressions",
        sa.Column("id", Id64, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("entry_id", sa.String(64), nullable=False),
        sa.Column("entry_digest", sa.String(64), nullable=False),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=True),
        sa.Column("revoked_at", UtcDateTime, nullable=True),
        sa.Column("revoked_by", sa.String(100), nullable=True),
        *_sealed("note"),
    )
    op.create_index("ix_screening_suppressions_customer", "screening_suppressions", ["customer_id"])
    op.create_index(
        "ix_screening_suppressions_key_version", "screening_suppressions", ["note_key_version"]
    )
    op.create_table(
        "screening_hits",
        sa.Column("id", Id64, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("entry_id", sa.String(64), nullable=False),
        sa.Column("entry_digest", sa.String(64), nullable=False),
        sa.Column("list_version", sa.Integer, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("match", Json, nullable=False),
        sa.Column("first_seen_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("resolved_by", sa.String(100), nullable=True),
        sa.Column("task_id", sa.String(48), nullable=True),
        sa.UniqueConstraint(
            "customer_id", "source", "entry_id", "entry_digest", name="ux_screening_hits_entry"
        ),
    )
    op.create_index("ix_screening_hits_status", "screening_hits", ["status", "updated_at"])
    op.create_table(
        "kyc_profiles",
        sa.Column("id", Id64, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(128), nullable=False, unique=True),
        sa.Column("subject", sa.String(16), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("occurred_at", UtcDateTime, nullable=False),
        sa.Column("verification_status", sa.String(16), nullable=False),
        sa.Column("risk_rating", sa.String(8), nullable=True),
        sa.Column("document_check", Json, nullable=True),
        sa.Column("next_review_at", UtcDateTime, nullable=True),
        sa.Column("sanctions_status", sa.String(24), nullable=False),
        sa.Column("pep_status", sa.String(24), nullable=False),
        sa.Column("screened", Json, nullable=False),
        sa.Column("screened_at", UtcDateTime, nullable=True),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        *_sealed("subject"),
    )
    op.create_index("ix_kyc_profiles_review", "kyc_profiles", ["next_review_at"])
    op.create_index("ix_kyc_profiles_key_version", "kyc_profiles", ["subject_key_version"])


def downgrade() -> None:
    op.drop_index("ix_kyc_profiles_key_version", "kyc_profiles")
    op.drop_index("ix_kyc_profiles_review", "kyc_profiles")
    op.drop_table("kyc_profiles")
    op.drop_index("ix_screening_hits_status", "screening_hits")
    op.drop_table("screening_hits")
    op.drop_index("ix_screening_suppressions_key_version", "screening_suppressions")
    op.drop_index("ix_screening_suppressions_customer", "screening_suppressions")
    op.drop_table("screening_suppressions")
    op.drop_index("ix_screening_entries_current", "screening_entries")
    op.drop_table("screening_entries")
    op.drop_table("screening_lists")
