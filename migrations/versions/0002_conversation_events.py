"""Conversation events for analytics: what happened in each conversation, personal data masked.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversation_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("conversation_id", sa.String(40), nullable=False),
        sa.Column("customer_id", sa.String(200)),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("intent", sa.String(120)),
        sa.Column("confidence", sa.Float),
        sa.Column("kb_key", sa.String(120)),
        sa.Column("reason", sa.String(32)),
        sa.Column("ticket_id", sa.Integer),
        sa.Column("agent", sa.String(100)),
        sa.Column("score", sa.Integer),
        sa.Column("text", sa.Text),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    op.create_index("ix_events_at", "conversation_events", ["at"])
    op.create_index("ix_events_conversation", "conversation_events", ["conversation_id", "at"])


def downgrade() -> None:
    op.drop_table("conversation_events")
