"""Console accounts: disabled accounts, revoked sessions, login throttling and the audit log.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    # set: the account may not log in
    op.add_column("agents", sa.Column("disabled_at", TZ, nullable=True))
    # a password change or disabling ends every session of the account
    op.create_index("ix_agent_sessions_agent_id", "agent_sessions", ["agent_id"])
    # who read which transcript (by ticket) and who exported what
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", TZ, nullable=False),
        sa.Column("agent_id", sa.Integer, sa.ForeignKey("agents.id"), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_at", "audit_log")
    op.drop_table("audit_log")
    op.drop_index("ix_agent_sessions_agent_id", "agent_sessions")
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("disabled_at")
