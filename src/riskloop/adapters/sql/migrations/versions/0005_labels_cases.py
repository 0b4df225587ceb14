"""Labels (an index of the log's label events), review cases, their items and timeline, the
cursors of log followers, and the card token of card payments as an indexed column (to match
labels sent with keys instead of an event id).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from riskloop.adapters.sql.schema import CARD_TOKEN_SQL, Id64, Json, UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "labels",
        sa.Column("label_id", sa.String(128), primary_key=True),
        sa.Column("seq", Id64, nullable=False),
        sa.Column("target_event_id", sa.String(128), nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("fraud", sa.Boolean, nullable=True),
        sa.Column("tier", sa.SmallInteger, nullable=False),
        sa.Column("reported_at", UtcDateTime, nullable=False),
        sa.Column("ingested_at", UtcDateTime, nullable=False),
        sa.Column("source", sa.String(256), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("detail", Json, nullable=False),
    )
    op.create_index("ix_labels_target", "labels", ["target_event_id"])
    op.create_index("ix_labels_reported", "labels", ["reported_at"])
    op.create_table(
        "cases",
        sa.Column("case_id", sa.String(48), primary_key=True),
        sa.Column("entity_type", sa.String(32), nullable=False),
        sa.Column("entity_key", sa.String(256), nullable=False),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("priority", sa.SmallInteger, nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("assignee", sa.String(100), nullable=True),
        sa.Column("opened_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("due_at", UtcDateTime, nullable=False),
        sa.Column("resolved_at", UtcDateTime, nullable=True),
        sa.Column("resolution", sa.String(16), nullable=True),
        sa.Column("labels_pending", sa.Boolean, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("body", Json, nullable=False),
    )
    op.create_index("ix_cases_queue", "cases", ["status", "queue", "priority", "due_at"])
    op.create_index("ix_cases_assignee", "cases", ["assignee", "status"])
    op.create_index(
        "ux_cases_open_entity",
        "cases",
        ["entity_type", "entity_key", "queue"],
        unique=True,
        sqlite_where=sa.text("status <> 'resolved'"),
        postgresql_where=sa.text("status <> 'resolved'"),
    )
    op.create_table(
        "case_items",
        sa.Column("event_id", sa.String(128), primary_key=True),
        sa.Column("case_id", sa.String(48), nullable=False),
        sa.Column("decision_id", sa.String(48), nullable=False),
        sa.Column("added_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_case_items_case", "case_items", ["case_id"])
    op.create_table(
        "case_log",
        sa.Column("seq", Id64, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(48), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("detail", Json, nullable=False),
        sa.Column("note_ciphertext", sa.LargeBinary, nullable=True),
        sa.Column("note_wrapped_key", sa.LargeBinary, nullable=True),
        sa.Column("note_key_version", sa.Integer, nullable=True),
    )
    op.create_index("ix_case_log_case", "case_log", ["case_id", "seq"])
    op.create_index("ix_case_log_key_version", "case_log", ["note_key_version"])
    op.create_table(
        "cursors",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("position", sa.String(128), nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )

    # The card of each card payment in a column of its own, indexed with the time, so a
    # label sent with match keys finds its payment; rows stored before are filled here.
    op.add_column("event_log", sa.Column("card_token", sa.String(128), nullable=True))
    card = CARD_TOKEN_SQL[op.get_bind().dialect.name]
    op.execute(
        f"UPDATE event_log SET card_token = {card} WHERE event_type = 'card_payment'"  # noqa: S608
    )
    op.create_index(
        "ix_event_log_card_token",
        "event_log",
        ["card_token", "occurred_at"],
        sqlite_where=sa.text("card_token IS NOT NULL"),
        postgresql_where=sa.text("card_token IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_event_log_card_token", table_name="event_log")
    with op.batch_alter_table("event_log") as batch:
        batch.drop_column("card_token")
    for table in ("cursors", "case_log", "case_items", "cases", "labels"):
        op.drop_table(table)
