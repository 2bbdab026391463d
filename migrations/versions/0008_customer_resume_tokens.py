"""Customers' resume tokens (hashed): the customer's credential, so the conversation id can be public.

A conversation started before this revision has no token: its browser's next hello starts a new conversation
(a verified customer's resumes by signature, as before). See bot/gateway/resume_tokens.py.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "resume_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("conversation_id", sa.String(40), sa.ForeignKey("conversations.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_resume_tokens_conversation_id", "resume_tokens", ["conversation_id"])


def downgrade() -> None:
    op.drop_index("ix_resume_tokens_conversation_id", "resume_tokens")
    op.drop_table("resume_tokens")
