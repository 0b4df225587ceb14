"""The entity index: which stored events name which customer, account, device, IP,
e-mail hash or payee, built behind the log, and how far it has got.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from riskloop.adapters.sql.schema import Id64

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "entity_index",
        sa.Column("entity", sa.String(16), primary_key=True),
        sa.Column("value", sa.String(200), primary_key=True),
        sa.Column("seq", Id64, primary_key=True),
    )
    op.create_index("ix_entity_index_seq", "entity_index", ["seq"])
    op.create_table(
        "index_positions",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("position", Id64, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("index_positions")
    op.drop_index("ix_entity_index_seq", table_name="entity_index")
    op.drop_table("entity_index")
