"""The bot's reading of each customer message, stored with the message when the bot's reply arrives.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("reading", sa.JSON))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("reading")
