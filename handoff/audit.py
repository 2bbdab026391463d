"""The audit log: who read which transcript and who exported what, for supervisors to review.

Transcripts are named by their ticket (`ticket:<id>`), never by customer text; rows are only ever added.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import List, Optional

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from handoff.schema import audit_log

READ_TRANSCRIPT = "read_transcript"
EXPORT_CSV = "export_csv"
READ_ORDERS = "read_orders"
DISABLE_ACCOUNT = "disable_account"
ENABLE_ACCOUNT = "enable_account"
CHANGE_PASSWORD = "change_password"


@dataclass(frozen=True)
class AuditEntry:
    """One audited access."""

    id: int
    at: datetime
    agent_id: int
    username: str
    action: str
    target: str

    def to_json(self) -> dict:
        return {"id": self.id, "at": self.at.isoformat(), "agent_id": self.agent_id, "username": self.username,
                "action": self.action, "target": self.target}


class AuditLog:
    """Rows of the `audit_log` table (blocking; the gateway calls it from its database thread)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, agent_id: int, username: str, action: str, target: str) -> None:
        """Adds one row, stamped now."""
        with self.engine.begin() as connection:
            connection.execute(insert(audit_log).values(
                at=datetime.now(timezone.utc), agent_id=agent_id, username=username, action=action,
                target=target[:200],
            ))

    def recent(self, limit: int = 200, before_id: Optional[int] = None) -> List[AuditEntry]:
        """The newest rows first (older pages with `before_id`)."""
        query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
        if before_id is not None:
            query = query.where(audit_log.c.id < before_id)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [AuditEntry(row.id, _aware(row.at), row.agent_id, row.username, row.action, row.target) for row in rows]


def _aware(moment: datetime) -> datetime:
    # SQLite returns naive datetimes; everything stored is UTC
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment
