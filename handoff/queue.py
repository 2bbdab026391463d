"""The ticket queue: open, take (atomically), reply, transfer, resolve, cancel, rate, requeue.

Order: priority (high first), then waiting time. Taking a ticket is atomic:
PostgreSQL locks the chosen row with `FOR UPDATE SKIP LOCKED`, so concurrent
agents each get a different ticket without waiting for one another; SQLite
takes the database write lock up front (`BEGIN IMMEDIATE`), so takers queue
one after another. Either way no ticket is ever given to two agents.
Blocking SQL; the gateway calls it from a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional, Tuple
from uuid import uuid4

from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from core.db import using
from core.driver_sql import Read
from handoff.schema import (
    ABANDONED,
    ASSIGNED,
    LIVE,
    OPEN_STATUSES,
    RESOLVED,
    WAITING,
    agents,
    tickets,
)

QUEUE_ORDER = (tickets.c.priority.desc(), tickets.c.created_at.asc(), tickets.c.id.asc())
# read for every customer message (does an agent have it?): built once, not per call
_OPEN_TICKET_OF = (
    select(tickets)
    .where(
        tickets.c.conversation_id == bindparam("conversation_id"),
        tickets.c.kind == LIVE,
        tickets.c.status.in_(OPEN_STATUSES),
    )
    .order_by(tickets.c.id.desc())
)


class TicketError(Exception):
    """A refused ticket operation: `code` for programs (see docs/console-api.md)."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(moment: Optional[datetime]) -> Optional[datetime]:
    return moment.replace(tzinfo=timezone.utc) if moment and moment.tzinfo is None else moment


@dataclass
class Ticket:
    """One request for a person."""

    id: int
    conversation_id: str
    customer_id: Optional[str]
    tier: Optional[str]
    kind: str
    reason: str
    reason_detail: str
    priority: int
    status: str
    agent_id: Optional[int]
    contact_phone: Optional[str]
    created_at: datetime
    assigned_at: Optional[datetime] = None
    first_agent_reply_at: Optional[datetime] = None
    resolved_at: Optional[datetime] = None
    resolution_note: Optional[str] = None
    rating: Optional[int] = None
    rating_comment: Optional[str] = None
    transcript: List[Dict[str, Any]] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def summary(self, position: Optional[int] = None, agent_name: Optional[str] = None) -> Dict[str, Any]:
        """The TicketSummary of docs/console-api.md (without the preview, which needs the messages)."""
        end = self.resolved_at or _now()
        return {
            "id": self.id,
            "conversation_id": self.conversation_id,
            "customer_id": self.customer_id,
            "tier": self.tier,
            "reason": self.reason,
            "reason_detail": self.reason_detail,
            "priority": self.priority,
            "status": self.status,
            "kind": self.kind,
            "created_at": self.created_at.isoformat(),
            "waited_seconds": round(((self.assigned_at or end) - self.created_at).total_seconds()),
            "position": position,
            "agent": agent_name,
            "contact_phone": self.contact_phone,
        }


def _ticket(row: Any) -> Ticket:
    return Ticket(
        id=row.id, conversation_id=row.conversation_id, customer_id=row.customer_id, tier=row.tier,
        kind=row.kind, reason=row.reason, reason_detail=row.reason_detail, priority=row.priority,
        status=row.status, agent_id=row.agent_id, contact_phone=row.contact_phone,
        created_at=_aware(row.created_at), assigned_at=_aware(row.assigned_at),
        first_agent_reply_at=_aware(row.first_agent_reply_at), resolved_at=_aware(row.resolved_at),
        resolution_note=row.resolution_note, rating=row.rating, rating_comment=row.rating_comment,
        transcript=list(row.transcript or []),
    )


def open_ticket_read(conversation_id: str) -> Read:
    """The read of the conversation's waiting or assigned live ticket (a Ticket or None), to run beside a write."""
    return Read(_OPEN_TICKET_OF, {"conversation_id": conversation_id}, _ticket)


class TicketQueue:
    """SQL-backed queue shared by every gateway process and agent."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"

    # -- opening ------------------------------------------------------------------------------
    def open(
        self,
        conversation_id: str,
        *,
        reason: str,
        detail: str,
        priority: int,
        customer_id: Optional[str] = None,
        tier: Optional[str] = None,
        transcript: Optional[List[Dict[str, Any]]] = None,
        kind: str = LIVE,
        contact_phone: Optional[str] = None,
        connection: Optional[Connection] = None,
    ) -> Tuple[Ticket, bool]:
        """Writes a ticket (committed before this returns); (ticket, created). A conversation has at most
        one open live ticket: asking again returns the open one. The database holds to that too (a unique
        index): when another gateway opens one at the same moment, its ticket is the one returned."""
        with using(self.engine, connection, write=True) as connection:
            if kind == LIVE:
                existing = self.open_ticket_for(conversation_id, connection=connection)
                if existing:
                    return existing, False
            values = dict(
                conversation_id=conversation_id, customer_id=customer_id, tier=tier, kind=kind,
                reason=reason, reason_detail=detail, priority=priority, status=WAITING,
                contact_phone=contact_phone, transcript=transcript or [], created_at=_now(),
            )
            try:
                # a savepoint: a refused insert must not end the caller's unit of work
                with connection.begin_nested():
                    ticket_id = connection.execute(insert(tickets).values(**values)).inserted_primary_key[0]
            except IntegrityError:
                existing = self.open_ticket_for(conversation_id, connection=connection) if kind == LIVE else None
                if existing is None:
                    raise
                return existing, False
            row = connection.execute(select(tickets).where(tickets.c.id == ticket_id)).first()
        return _ticket(row), True

    # -- reading ------------------------------------------------------------------------------
    def get(self, ticket_id: int, *, connection: Optional[Connection] = None) -> Optional[Ticket]:
        with using(self.engine, connection) as connection:
            row = connection.execute(select(tickets).where(tickets.c.id == ticket_id)).first()
        return _ticket(row) if row else None

    def open_ticket_for(self, conversation_id: str, *, connection: Optional[Connection] = None) -> Optional[Ticket]:
        """The conversation's waiting or assigned live ticket, if any."""
        with using(self.engine, connection) as connection:
            return open_ticket_read(conversation_id).run(connection)

    def latest_for(self, conversation_id: str, *, connection: Optional[Connection] = None) -> Optional[Ticket]:
        """The conversation's most recent ticket, whatever its state."""
        with using(self.engine, connection) as connection:
            row = connection.execute(
                select(tickets).where(tickets.c.conversation_id == conversation_id).order_by(tickets.c.id.desc())
            ).first()
        return _ticket(row) if row else None

    def waiting(self, *, connection: Optional[Connection] = None) -> List[Ticket]:
        """Waiting tickets in the order agents get them."""
        with using(self.engine, connection) as connection:
            rows = connection.execute(select(tickets).where(tickets.c.status == WAITING).order_by(*QUEUE_ORDER)).all()
        return [_ticket(row) for row in rows]

    def assigned_to(self, agent_id: int, *, connection: Optional[Connection] = None) -> List[Ticket]:
        with using(self.engine, connection) as connection:
            rows = connection.execute(
                select(tickets)
                .where(tickets.c.status == ASSIGNED, tickets.c.agent_id == agent_id)
                .order_by(tickets.c.assigned_at)
            ).all()
        return [_ticket(row) for row in rows]

    def average_handling_seconds(
        self, at_least: int = 5, *, connection: Optional[Connection] = None,
    ) -> Optional[float]:
        """Mean time from an agent taking a live ticket to resolving it, once `at_least` tickets are resolved."""
        with using(self.engine, connection) as connection:
            rows = connection.execute(
                select(tickets.c.assigned_at, tickets.c.resolved_at)
                .where(tickets.c.status == RESOLVED, tickets.c.kind == LIVE, tickets.c.assigned_at.isnot(None))
                .order_by(tickets.c.resolved_at.desc())
                .limit(200)
            ).all()
        if len(rows) < at_least:
            return None
        return sum((_aware(r.resolved_at) - _aware(r.assigned_at)).total_seconds() for r in rows) / len(rows)

    # -- taking -------------------------------------------------------------------------------
    def take_next(self, agent_id: int, *, connection: Optional[Connection] = None) -> Optional[Ticket]:
        """Assigns the first waiting ticket to the agent; None when nobody is waiting."""
        now = _now()
        with using(self.engine, connection, write=True) as connection:
            chosen = select(tickets.c.id).where(tickets.c.status == WAITING).order_by(*QUEUE_ORDER).limit(1)
            if self.postgres:
                chosen = chosen.with_for_update(skip_locked=True)
            ticket_id = connection.execute(chosen).scalar()
            if ticket_id is None:
                return None
            claim = uuid4().hex
            updated = connection.execute(
                update(tickets)
                .where(tickets.c.id == ticket_id, tickets.c.status == WAITING)
                .values(status=ASSIGNED, agent_id=agent_id, assigned_at=now, claim=claim)
            )
            if updated.rowcount != 1:  # cannot happen under the lock; kept as a guard
                raise TicketError("conflict", f"ticket {ticket_id} was taken concurrently")
            row = connection.execute(select(tickets).where(tickets.c.id == ticket_id)).first()
        return _ticket(row)

    def take(self, ticket_id: int, agent_id: int, *, connection: Optional[Connection] = None) -> Optional[Ticket]:
        """Assigns this waiting ticket to the agent; None if it is not waiting (any more)."""
        with using(self.engine, connection, write=True) as connection:
            updated = connection.execute(
                update(tickets)
                .where(tickets.c.id == ticket_id, tickets.c.status == WAITING)
                .values(status=ASSIGNED, agent_id=agent_id, assigned_at=_now(), claim=uuid4().hex)
            )
            if updated.rowcount != 1:
                return None
            row = connection.execute(select(tickets).where(tickets.c.id == ticket_id)).first()
        return _ticket(row)

    # -- working a ticket ---------------------------------------------------------------------
    def _owned(self, connection: Any, ticket_id: int, agent_id: Optional[int]) -> Any:
        row = connection.execute(select(tickets).where(tickets.c.id == ticket_id)).first()
        if row is None:
            raise TicketError("no_such_ticket", f"there is no ticket {ticket_id}")
        if row.status not in OPEN_STATUSES:
            raise TicketError("ticket_closed", f"ticket {ticket_id} is {row.status}")
        if agent_id is not None and row.agent_id != agent_id:
            raise TicketError("not_your_ticket", f"ticket {ticket_id} is not assigned to you")
        return row

    def note_agent_reply(self, ticket_id: int, agent_id: int, *, connection: Optional[Connection] = None) -> Ticket:
        """Checks the agent may write in this ticket and records the first reply time."""
        with using(self.engine, connection, write=True) as connection:
            row = self._owned(connection, ticket_id, agent_id)
            if row.first_agent_reply_at is None:
                connection.execute(
                    update(tickets).where(tickets.c.id == ticket_id).values(first_agent_reply_at=_now())
                )
            row = connection.execute(select(tickets).where(tickets.c.id == ticket_id)).first()
        return _ticket(row)

    def transfer(
        self, ticket_id: int, agent_id: int, to_agent_id: int, *, connection: Optional[Connection] = None,
    ) -> Ticket:
        """Gives the agent's ticket to another agent."""
        with using(self.engine, connection, write=True) as connection:
            self._owned(connection, ticket_id, agent_id)
            connection.execute(
                update(tickets).where(tickets.c.id == ticket_id).values(agent_id=to_agent_id, assigned_at=_now())
            )
            row = connection.execute(select(tickets).where(tickets.c.id == ticket_id)).first()
        return _ticket(row)

    def resolve(
        self, ticket_id: int, agent_id: Optional[int], note: str, *, connection: Optional[Connection] = None,
    ) -> Ticket:
        """Closes the ticket with the agent's note (agent_id None: a supervisor closing any ticket)."""
        with using(self.engine, connection, write=True) as connection:
            self._owned(connection, ticket_id, agent_id)
            connection.execute(
                update(tickets)
                .where(tickets.c.id == ticket_id)
                .values(status=RESOLVED, resolved_at=_now(), resolution_note=note)
            )
            row = connection.execute(select(tickets).where(tickets.c.id == ticket_id)).first()
        return _ticket(row)

    def cancel(self, conversation_id: str, *, connection: Optional[Connection] = None) -> Optional[Ticket]:
        """The customer stops waiting: their waiting live ticket becomes abandoned."""
        with using(self.engine, connection, write=True) as connection:
            row = connection.execute(
                select(tickets).where(
                    tickets.c.conversation_id == conversation_id, tickets.c.kind == LIVE, tickets.c.status == WAITING
                )
            ).first()
            if row is None:
                return None
            connection.execute(
                update(tickets).where(tickets.c.id == row.id).values(status=ABANDONED, resolved_at=_now())
            )
            row = connection.execute(select(tickets).where(tickets.c.id == row.id)).first()
        return _ticket(row)

    def rate(
        self, ticket_id: int, conversation_id: str, score: int, comment: str, *,
        connection: Optional[Connection] = None,
    ) -> Ticket:
        """Stores the customer's rating of a resolved ticket of their own conversation."""
        with using(self.engine, connection, write=True) as connection:
            row = connection.execute(select(tickets).where(tickets.c.id == ticket_id)).first()
            if row is None or row.conversation_id != conversation_id or row.status != RESOLVED:
                raise TicketError("no_ticket", f"no resolved ticket {ticket_id} in this conversation")
            connection.execute(
                update(tickets).where(tickets.c.id == ticket_id).values(rating=score, rating_comment=comment or None)
            )
            row = connection.execute(select(tickets).where(tickets.c.id == ticket_id)).first()
        return _ticket(row)

    def requeue_stale(self, agent_timeout_seconds: float, *, connection: Optional[Connection] = None) -> List[Ticket]:
        """Tickets whose agent has not been seen for `agent_timeout_seconds` go back to the queue,
        keeping their history and their original place (created_at)."""
        cutoff = _now() - timedelta(seconds=agent_timeout_seconds)
        gone = select(agents.c.id).where(or_(agents.c.last_seen_at < cutoff, agents.c.last_seen_at.is_(None)))
        with using(self.engine, connection, write=True) as connection:
            rows = connection.execute(
                select(tickets).where(tickets.c.status == ASSIGNED, tickets.c.agent_id.in_(gone))
            ).all()
            if rows:
                connection.execute(
                    update(tickets)
                    .where(tickets.c.id.in_([row.id for row in rows]), tickets.c.status == ASSIGNED)
                    .values(status=WAITING, agent_id=None, assigned_at=None, claim=None)
                )
        return [_ticket(row) for row in rows]

    def count_waiting(self, *, connection: Optional[Connection] = None) -> int:
        with using(self.engine, connection) as connection:
            return int(connection.execute(
                select(func.count()).select_from(tickets).where(tickets.c.status == WAITING)
            ).scalar() or 0)
