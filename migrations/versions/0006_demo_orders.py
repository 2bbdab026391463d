"""The embedded demo order system: orders as documents, and each change request once.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "demo_orders",
        sa.Column("order_number", sa.String(32), primary_key=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("document", sa.JSON, nullable=False),
        sa.Column("seeded_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_index("ix_demo_orders_customer", "demo_orders", ["customer_id"])
    op.create_table(
        "demo_order_requests",
        sa.Column("request_id", sa.String(64), primary_key=True),
        sa.Column("order_number", sa.String(32), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("result", sa.JSON, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("demo_order_requests")
    op.drop_index("ix_demo_orders_customer", "demo_orders")
    op.drop_table("demo_orders")
