"""Personal data: the record of exports, erasures and retention runs (who, when, what, how many rows; never
the data itself).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "privacy_actions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", TZ, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("subject_kind", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("counts", sa.JSON, nullable=False),
    )
    op.create_index("ix_privacy_actions_at", "privacy_actions", ["at"])


def downgrade() -> None:
    op.drop_index("ix_privacy_actions_at", "privacy_actions")
    op.drop_table("privacy_actions")
