"""The conversation event log: one row per thing that happened, text and detail masked before it is stored.

Kinds (what `kind` holds):
    customer_message  intent, confidence, entities (masked) in detail; detail.to = "bot" | "agent" | "gateway"
    bot_answer        kb_key of the knowledge-base entry answered (None for chit-chat)
    clarification     detail.suggested = keys offered as "您是想问…" buttons
    suggestion_taken  kb_key of the suggestion the customer clicked
    fallback          the bot could not help (no suggestion fitted, out of scope)
    escalation        reason, ticket_id, detail.detail (what matched)
    agent_message     ticket_id, agent
    resolution        ticket_id, agent, detail.wait_seconds, detail.handling_seconds
    rating            ticket_id, agent, score 1-5, text = comment (masked)
    abandoned         ticket_id: the customer stopped waiting for a person

A bot turn (bot_answer, clarification, fallback) also keeps in its detail what the action reported, each a
string of at most 32 characters (bot/gateway/event_recorder.py; any other reported key is dropped):
    route             the kind of turn: order, product, bargain, card, ask
    self_service      the self-service task: track, not_shipped, urge, change_receiver, cancel, after_sale,
                      invoice, problem (an order problem handed to a person with the order), or product
    outcome           asked, done, refused, declined, not_proven, unavailable for an order task; unknown
                      for a product question the bot could not answer (fallback)
    attribute         what a product question was about: price, variants, stock, spec, in_box, warranty,
                      compare, unknown
The labels and the figures made from them are in analytics/metrics.py (`self_service`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

from sqlalchemy import JSON, Column, DateTime, Float, Index, Integer, String, Table, Text, insert, select
from sqlalchemy.engine import Engine

from analytics.masking import mask
from core.db import metadata

KINDS = (
    "customer_message", "bot_answer", "clarification", "suggestion_taken", "fallback", "escalation",
    "agent_message", "resolution", "rating", "abandoned",
)

events = Table(
    "conversation_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("conversation_id", String(40), nullable=False),
    Column("customer_id", String(200)),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("intent", String(120)),
    Column("confidence", Float),
    Column("kb_key", String(120)),
    Column("reason", String(32)),
    Column("ticket_id", Integer),
    Column("agent", String(100)),
    Column("score", Integer),
    Column("text", Text),
    Column("detail", JSON, nullable=False),
    Index("ix_events_at", "at"),
    Index("ix_events_conversation", "conversation_id", "at"),
)
# every logged event goes through this one statement, built once
_INSERT_EVENT = insert(events)


@dataclass
class Event:
    """One row of the log (times are UTC)."""

    conversation_id: str
    kind: str
    at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    customer_id: Optional[str] = None
    intent: Optional[str] = None
    confidence: Optional[float] = None
    kb_key: Optional[str] = None
    reason: Optional[str] = None
    ticket_id: Optional[int] = None
    agent: Optional[str] = None
    score: Optional[int] = None
    text: Optional[str] = None
    detail: Dict[str, Any] = field(default_factory=dict)

    def row(self) -> Dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def masked_entities(entities: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Entity values pass through the same masking as text (a phone number entity is personal data)."""
    return [{"entity": e.get("entity"), "value": mask(str(e.get("value", "")))} for e in entities or []]


def masked_detail(value: Any) -> Any:
    """A detail with every string in it masked, at any depth (dicts, lists); other values as they are."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {key: masked_detail(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [masked_detail(item) for item in value]
    return value


class EventLog:
    """Writes and reads conversation events (blocking SQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def write(self, event: Event) -> None:
        """Stores the event with its text masked."""
        self.write_many([event])

    def write_many(self, batch: List[Event]) -> None:
        """Stores several events, texts masked, in one transaction (all or none)."""
        rows = []
        for event in batch:
            if event.kind not in KINDS:
                raise ValueError(f"unknown event kind {event.kind!r}; expected one of {KINDS}")
            row = event.row()
            if row["text"]:
                row["text"] = mask(row["text"])
            # an escalation's detail can quote the customer (要求人工：“找个138…的人”): every string is masked
            row["detail"] = masked_detail(row["detail"])
            if row["at"].tzinfo is None:
                row["at"] = row["at"].replace(tzinfo=timezone.utc)
            row["at"] = row["at"].astimezone(timezone.utc)
            rows.append(row)
        if rows:
            with self.engine.begin() as connection:
                connection.execute(_INSERT_EVENT, rows)

    def between(self, start: datetime, end: datetime) -> List[Event]:
        """Events with start <= at < end, oldest first."""
        # SQLite keeps times without their zone: compare in UTC, as they are stored
        start, end = start.astimezone(timezone.utc), end.astimezone(timezone.utc)
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(events).where(events.c.at >= start, events.c.at < end).order_by(events.c.at, events.c.id)
            ).all()
        result = []
        for row in rows:
            values = dict(row._mapping)
            values.pop("id")
            at = values["at"]
            values["at"] = at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at
            result.append(Event(**values))
        return result
