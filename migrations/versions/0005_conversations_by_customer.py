"""A verified customer's latest conversation is found by an index (they sign in on another device).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_conversations_customer", "conversations", ["customer_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_conversations_customer", "conversations")
