"""Conversations and messages (chat gateway); agents, their sessions and tickets (handoff queue).

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("customer_id", sa.String(200)),
        sa.Column("tier", sa.String(200)),
        sa.Column("shop_metadata", sa.JSON, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_table(
        "messages",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("conversation_id", sa.String(40), sa.ForeignKey("conversations.id"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("sender", sa.String(16), nullable=False),
        sa.Column("client_id", sa.String(64)),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("payload", sa.Text),
        sa.Column("extra", sa.JSON, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.UniqueConstraint("conversation_id", "seq", name="uq_message_seq"),
        sa.UniqueConstraint("conversation_id", "client_id", name="uq_message_client_id"),
    )
    op.create_index("ix_messages_conversation_id", "messages", ["conversation_id"])
    op.create_table(
        "agents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(300), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("last_seen_at", TZ),
    )
    op.create_table(
        "agent_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("agent_id", sa.Integer, sa.ForeignKey("agents.id"), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
    )
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("conversation_id", sa.String(40), sa.ForeignKey("conversations.id"), nullable=False),
        sa.Column("customer_id", sa.String(200)),
        sa.Column("tier", sa.String(200)),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("reason_detail", sa.Text, nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("agent_id", sa.Integer, sa.ForeignKey("agents.id")),
        sa.Column("claim", sa.String(40)),
        sa.Column("contact_phone", sa.String(20)),
        sa.Column("transcript", sa.JSON, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("assigned_at", TZ),
        sa.Column("first_agent_reply_at", TZ),
        sa.Column("resolved_at", TZ),
        sa.Column("resolution_note", sa.Text),
        sa.Column("rating", sa.Integer),
        sa.Column("rating_comment", sa.Text),
    )
    op.create_index("ix_tickets_queue", "tickets", ["status", "priority", "created_at"])
    op.create_index("ix_tickets_conversation_id", "tickets", ["conversation_id"])


def downgrade() -> None:
    op.drop_table("tickets")
    op.drop_table("agent_sessions")
    op.drop_table("agents")
    op.drop_index("ix_messages_conversation_id", "messages")
    op.drop_table("messages")
    op.drop_table("conversations")
