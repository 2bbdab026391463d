"""Tables of the handoff queue, on the product's one MetaData; migrations/ creates them (a test checks they agree)."""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Index, Integer, String, Table, Text, text

from core.db import metadata

TZ = DateTime(timezone=True)

agents = Table(
    "agents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(100), nullable=False),
    Column("role", String(16), nullable=False),
    Column("password_hash", String(300), nullable=False),
    Column("created_at", TZ, nullable=False),
    Column("last_seen_at", TZ),
    # set: the account may not log in (migration 0007)
    Column("disabled_at", TZ),
)

agent_sessions = Table(
    "agent_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("agent_id", Integer, ForeignKey("agents.id"), nullable=False),
    Column("created_at", TZ, nullable=False),
    Column("expires_at", TZ, nullable=False),
    # ending every session of an account (password change, disabling) finds them by account (migration 0007)
    Index("ix_agent_sessions_agent_id", "agent_id"),
)

# who read which transcript and who exported what (migration 0007): the account's name is kept as it was, and
# a transcript is named by its ticket, never by customer text
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", TZ, nullable=False),
    Column("agent_id", Integer, ForeignKey("agents.id"), nullable=False),
    Column("username", String(64), nullable=False),
    Column("action", String(32), nullable=False),
    Column("target", String(200), nullable=False),
    Index("ix_audit_log_at", "at"),
)

tickets = Table(
    "tickets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("conversation_id", String(40), ForeignKey("conversations.id"), nullable=False),
    Column("customer_id", String(200)),
    Column("tier", String(200)),
    Column("kind", String(16), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("reason_detail", Text, nullable=False),
    Column("priority", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("agent_id", Integer, ForeignKey("agents.id")),
    Column("claim", String(40)),
    Column("contact_phone", String(20)),
    Column("transcript", JSON, nullable=False),
    Column("created_at", TZ, nullable=False),
    Column("assigned_at", TZ),
    Column("first_agent_reply_at", TZ),
    Column("resolved_at", TZ),
    Column("resolution_note", Text),
    Column("rating", Integer),
    Column("rating_comment", Text),
    Index("ix_tickets_queue", "status", "priority", "created_at"),
    Index("ix_tickets_conversation_id", "conversation_id"),
    # at most one open live ticket per conversation, whoever opens it (migration 0004)
    Index("uq_tickets_one_open_live", "conversation_id", unique=True,
          sqlite_where=text("kind = 'live' AND status IN ('waiting', 'assigned')"),
          postgresql_where=text("kind = 'live' AND status IN ('waiting', 'assigned')")),
)

WAITING, ASSIGNED, RESOLVED, ABANDONED = "waiting", "assigned", "resolved", "abandoned"
OPEN_STATUSES = (WAITING, ASSIGNED)
LIVE, LEFT_MESSAGE = "live", "message"
