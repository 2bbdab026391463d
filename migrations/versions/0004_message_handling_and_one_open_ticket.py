"""Each customer message's handling (pending until answered, handed to the agent or handed over, with a lease
its holder renews), and at most one open live ticket per conversation.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

UNHANDLED = sa.text("handling IN ('pending', 'handing_over')")
OPEN_LIVE = sa.text("kind = 'live' AND status IN ('waiting', 'assigned')")


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("handling", sa.String(16)))
        batch.add_column(sa.Column("handling_until", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("attempts", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("handoff", sa.JSON))
    op.create_index("ix_messages_unhandled", "messages", ["handling_until"],
                    sqlite_where=UNHANDLED, postgresql_where=UNHANDLED)
    # two replicas escalating the same conversation at once get one ticket: the database refuses the second
    op.create_index("uq_tickets_one_open_live", "tickets", ["conversation_id"], unique=True,
                    sqlite_where=OPEN_LIVE, postgresql_where=OPEN_LIVE)


def downgrade() -> None:
    op.drop_index("uq_tickets_one_open_live", "tickets")
    op.drop_index("ix_messages_unhandled", "messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("handoff")
        batch.drop_column("attempts")
        batch.drop_column("handling_until")
        batch.drop_column("handling")
