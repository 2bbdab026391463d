"""One customer's personal data (PIPL): found, exported and erased across conversations, messages, tickets, the
event log and Rasa's trackers; every export and erasure written to `privacy_actions` (docs/privacy.md).

A customer is named by the verified customer id the shop signed (identity.py; `conversations.customer_id`),
or, for an anonymous visitor, by a conversation id.

Erasure deletes what the customer wrote and what was written to them, and keeps the facts the figures are made
of, unlinked from the customer:
- messages and Rasa's stored events of the conversations: deleted;
- tickets: kept for the queue's handling times, with the customer id, tier, transcript, reason detail,
  contact phone, resolution note and rating comment cleared;
- conversations: kept (tickets point at them) with the customer id, tier and shop metadata cleared;
- conversation_events: kept, so deflection, escalation and savings of past periods do not change, with their
  text and every free-text detail removed and the customer id replaced by one random pseudonym for the whole
  erasure (the same for all the customer's rows, so the recontact rule still groups them: figures stay as
  they were, and nothing leads back to the customer).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

from sqlalchemy import JSON, Column, DateTime, Index, Integer, String, Table, bindparam, or_, select, union
from sqlalchemy.engine import Connection, Engine

from analytics.events import events
from bot.gateway.rasa_trackers import RasaTrackers
from bot.gateway.store import conversations, messages
from core.db import metadata, write_transaction
from handoff.schema import OPEN_STATUSES, tickets

privacy_actions = Table(
    "privacy_actions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    # a console account's username, or "command:<os user>" for tools/privacy.py
    Column("actor", String(200), nullable=False),
    Column("action", String(16), nullable=False),  # export | erase | retention
    Column("subject_kind", String(16), nullable=False),  # customer | conversation | windows
    Column("subject", String(200), nullable=False),
    # rows found or changed per table; never the data itself
    Column("counts", JSON, nullable=False),
    Index("ix_privacy_actions_at", "at"),
)

# an event's detail keys that hold no personal data (analytics/events.py): everything else goes on erasure
SAFE_DETAIL_KEYS = frozenset({
    "to", "suggested", "route", "self_service", "outcome", "attribute", "wait_seconds", "handling_seconds",
    "priority", "cause",
})
PSEUDONYM_PREFIX = "erased-"
ID_MAX_LENGTH = 200


class PersonalDataError(ValueError):
    """A request that cannot be carried out; the message says what to do."""


class NothingStored(PersonalDataError):
    """Nothing is stored for the customer or conversation named."""


class TicketStillOpen(PersonalDataError):
    """The customer is talking to a person now: erasure waits until the ticket is resolved."""


@dataclass(frozen=True)
class Subject:
    """Whose data: a verified customer id, or one (anonymous) conversation id."""

    kind: str  # customer | conversation
    value: str

    @classmethod
    def of(cls, customer_id: Optional[str] = None, conversation_id: Optional[str] = None) -> Subject:
        """Exactly one of the two, non-empty and at most 200 characters."""
        given = [(kind, value) for kind, value in (("customer", customer_id), ("conversation", conversation_id))
                 if value is not None and str(value).strip()]
        if len(given) != 1:
            raise PersonalDataError("name exactly one of customer_id (a verified customer) or conversation_id "
                                    "(an anonymous visitor's conversation)")
        kind, value = given[0]
        value = str(value).strip()
        if len(value) > ID_MAX_LENGTH:
            raise PersonalDataError(f"{kind}_id is longer than {ID_MAX_LENGTH} characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise PersonalDataError(f"{kind}_id is not valid text (a lone surrogate)") from None
        return cls(kind, value)


@dataclass(frozen=True)
class Erased:
    """What an erasure changed: the conversations, and the rows per table."""

    conversation_ids: List[str]
    counts: Dict[str, int]


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()
    return value


def _rows(connection: Connection, statement: Any) -> List[Dict[str, Any]]:
    return [{key: _jsonable(value) for key, value in row._mapping.items()} for row in connection.execute(statement)]


def scrubbed_detail(detail: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """An event's detail without anything the customer said: the known figure keys, and entity names only."""
    detail = detail or {}
    kept = {key: value for key, value in detail.items() if key in SAFE_DETAIL_KEYS}
    if isinstance(detail.get("entities"), list):
        kept["entities"] = [{"entity": e.get("entity")} for e in detail["entities"] if isinstance(e, dict)]
    return kept


class PersonalData:
    """Blocking SQL on the product's database and Rasa's; call from a worker thread in the gateway."""

    def __init__(self, engine: Engine, trackers: RasaTrackers) -> None:
        self.engine = engine
        self.trackers = trackers

    def conversation_ids(self, connection: Connection, subject: Subject) -> List[str]:
        """Every conversation of the subject: by the customer id in conversations, tickets or events (a
        conversation row may be gone by retention while its events remain), or the one conversation."""
        if subject.kind == "conversation":
            found = union(
                select(conversations.c.id).where(conversations.c.id == subject.value),
                select(tickets.c.conversation_id).where(tickets.c.conversation_id == subject.value),
                select(events.c.conversation_id).where(events.c.conversation_id == subject.value),
            )
        else:
            found = union(
                select(conversations.c.id).where(conversations.c.customer_id == subject.value),
                select(tickets.c.conversation_id).where(tickets.c.customer_id == subject.value),
                select(events.c.conversation_id).where(events.c.customer_id == subject.value),
            )
        return sorted(row[0] for row in connection.execute(found))

    def _event_filter(self, subject: Subject, ids: List[str]) -> Any:
        if subject.kind == "customer":
            return or_(events.c.conversation_id.in_(ids), events.c.customer_id == subject.value)
        return events.c.conversation_id.in_(ids)

    def export(self, subject: Subject, actor: str) -> Dict[str, Any]:
        """Everything stored about the subject, as JSON-ready rows per table; recorded as an export. Raises
        PersonalDataError when nothing is stored."""
        with self.engine.connect() as connection:
            ids = self.conversation_ids(connection, subject)
            if not ids:
                raise NothingStored(f"no data stored for {subject.kind} {subject.value!r}")
            result: Dict[str, Any] = {
                "subject": {f"{subject.kind}_id": subject.value},
                "exported_at": _now().isoformat(),
                "conversations": _rows(connection, select(conversations).where(conversations.c.id.in_(ids))
                                       .order_by(conversations.c.created_at)),
                "messages": _rows(connection, select(messages).where(messages.c.conversation_id.in_(ids))
                                  .order_by(messages.c.conversation_id, messages.c.seq)),
                # the claim is the assigned agent's internal token, not the customer's data
                "tickets": _rows(connection, select(*[c for c in tickets.c if c.name != "claim"])
                                 .where(tickets.c.conversation_id.in_(ids)).order_by(tickets.c.id)),
                "conversation_events": _rows(connection, select(events).where(self._event_filter(subject, ids))
                                             .order_by(events.c.at, events.c.id)),
            }
        result["rasa_tracker_events"] = self.trackers.export(ids)
        counts = {name: len(result[name]) for name in
                  ("conversations", "messages", "tickets", "conversation_events", "rasa_tracker_events")}
        self.record(actor, "export", subject.kind, subject.value, counts)
        return result

    def erase(self, subject: Subject, actor: str) -> Erased:
        """Erases the subject's data (module docstring says what goes and what stays). Refused while a ticket
        of theirs is open: resolve it first."""
        with write_transaction(self.engine) as connection:
            ids = self.conversation_ids(connection, subject)
            if not ids:
                raise NothingStored(f"no data stored for {subject.kind} {subject.value!r}")
            open_ticket = connection.execute(
                select(tickets.c.id).where(tickets.c.conversation_id.in_(ids), tickets.c.status.in_(OPEN_STATUSES))
                .limit(1)
            ).scalar()
            if open_ticket is not None:
                raise TicketStillOpen(f"ticket {open_ticket} of this customer is still open: resolve it in the "
                                        "console first, then erase")
            counts = erase_conversations(connection, ids)
            counts["conversation_events"] = _anonymise_events(connection, self._event_filter(subject, ids))
            counts["rasa_tracker_events"] = self.trackers.delete(ids)
            record_action(connection, actor, "erase", subject.kind, subject.value, counts)
        return Erased(ids, counts)

    def record(self, actor: str, action: str, subject_kind: str, subject: str, counts: Dict[str, int]) -> None:
        """Writes one row of the privacy record."""
        with self.engine.begin() as connection:
            record_action(connection, actor, action, subject_kind, subject, counts)

    def actions(self, limit: int = 100) -> List[Dict[str, Any]]:
        """The newest rows of the privacy record, newest first."""
        with self.engine.connect() as connection:
            return _rows(connection, select(privacy_actions).order_by(privacy_actions.c.id.desc()).limit(limit))


def record_action(connection: Connection, actor: str, action: str, subject_kind: str, subject: str,
            counts: Dict[str, int]) -> None:
    """One row of the privacy record, in the caller's transaction."""
    connection.execute(privacy_actions.insert().values(
        at=_now(), actor=actor[:200], action=action, subject_kind=subject_kind, subject=subject[:200],
        counts=counts,
    ))


def delete_dependents(connection: Connection, ids: List[str]) -> None:
    """Deletes what any other table keeps about these conversations by a foreign key (a resume token: the
    customer's browser then starts a new conversation instead of resuming the erased one)."""
    for table in metadata.sorted_tables:
        if table.name in ("messages", "tickets", "conversations"):
            continue
        for key in table.foreign_keys:
            if key.column.table.name == "conversations":
                connection.execute(table.delete().where(key.parent.in_(ids)))


def erase_conversations(connection: Connection, ids: List[str]) -> Dict[str, int]:
    """Deletes the conversations' messages (and resume tokens) and clears the personal fields of their tickets
    and of the conversation rows (the event log and Rasa's trackers are the caller's). Returns rows changed
    per table."""
    counts = {"messages": 0, "tickets": 0, "conversations": 0}
    for start in range(0, len(ids), 500):
        batch = ids[start:start + 500]
        delete_dependents(connection, batch)
        counts["messages"] += connection.execute(
            messages.delete().where(messages.c.conversation_id.in_(batch))).rowcount or 0
        counts["tickets"] += connection.execute(
            tickets.update().where(tickets.c.conversation_id.in_(batch)).values(
                customer_id=None, tier=None, reason_detail="", contact_phone=None, transcript=[],
                resolution_note=None, rating_comment=None,
            )).rowcount or 0
        counts["conversations"] += connection.execute(
            conversations.update().where(conversations.c.id.in_(batch)).values(
                customer_id=None, tier=None, shop_metadata={})).rowcount or 0
    return counts


def _anonymise_events(connection: Connection, which: Any) -> int:
    rows = connection.execute(select(events.c.id, events.c.customer_id, events.c.detail).where(which)).all()
    if not rows:
        return 0
    pseudonym = PSEUDONYM_PREFIX + secrets.token_hex(8)
    changes = [
        {"event_id": row.id, "new_customer_id": pseudonym if row.customer_id else None,
         "new_detail": scrubbed_detail(row.detail)}
        for row in rows
    ]
    connection.execute(
        events.update().where(events.c.id == bindparam("event_id")).values(
            text=None, customer_id=bindparam("new_customer_id"), detail=bindparam("new_detail", type_=JSON)),
        changes,
    )
    return len(changes)
