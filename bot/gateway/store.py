"""Where conversations and their messages are kept: SQL through SQLAlchemy Core (SQLite by default).

Every message gets a per-conversation sequence number, so a client that
reconnects asks for "everything after seq N" and sees nothing twice.
A customer message's `client_id` is unique within its conversation, so a
message re-sent after a dropped connection is stored once.

A customer message also carries its handling: `pending` from the moment it is stored until the bot's answer is
stored (`answered`), it goes to the conversation's agent (`to_agent`) or a ticket is opened for it
(`handed_over`; `handing_over` while the bot's request for a person waits for its ticket). A pending message
has a lease (`handling_until`) that whoever handles it renews; a message whose lease ran out (its gateway died,
or the bot could not answer it yet) is claimed by the next gateway that looks (`claim_unhandled`), so a stored
message is always handled, and answered once: the bot's answer is stored only while the message is pending.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional, Tuple
from uuid import uuid4

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    func,
    select,
    update,
)
from sqlalchemy import text as sql_text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.gateway import resume_tokens
from core.db import metadata, write_transaction
from core.driver_sql import DriverConnections, Read, driver_values

SENDERS = ("customer", "bot", "agent", "system")
# a customer message's handling: the first two are unfinished, the others final
PENDING, HANDING_OVER = "pending", "handing_over"
ANSWERED, TO_AGENT, HANDED_OVER = "answered", "to_agent", "handed_over"
UNHANDLED = (PENDING, HANDING_OVER)
# the same as SQL text: with its values written out (not bound), SQLite can use the partial index below; with
# bound values it reads the whole table
_UNHANDLED_SQL = "handling IN ('pending', 'handing_over')"
# conversations whose last seq is kept in memory (a few dozen bytes each)
SEQ_CACHE_SIZE = 10000
# locks the writers of a conversation take turns under (conversations share one by their hash)
NUMBERING_STRIPES = 64


conversations = Table(
    "conversations",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("customer_id", String(200)),
    Column("tier", String(200)),
    Column("shop_metadata", JSON, nullable=False, default=dict),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # when the shop metadata last changed (a message's own time is in `messages`)
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # a verified customer's latest conversation, found when they sign in on another device
    Index("ix_conversations_customer", "customer_id", "created_at"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("conversation_id", String(40), ForeignKey("conversations.id"), nullable=False, index=True),
    Column("seq", Integer, nullable=False),
    Column("sender", String(16), nullable=False),
    Column("client_id", String(64)),
    Column("text", Text, nullable=False, default=""),
    Column("payload", Text),
    Column("extra", JSON, nullable=False, default=dict),
    # the bot's reading of a customer message (core/reading.py), stored when its reply arrives
    Column("reading", JSON),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # a customer message's handling (above), the end of its holder's lease, how often it was claimed again,
    # and the decision to hand it over while that waits for its ticket
    Column("handling", String(16)),
    Column("handling_until", DateTime(timezone=True)),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("handoff", JSON),
    UniqueConstraint("conversation_id", "seq", name="uq_message_seq"),
    UniqueConstraint("conversation_id", "client_id", name="uq_message_client_id"),
    Index("ix_messages_unhandled", "handling_until",
          sqlite_where=sql_text(_UNHANDLED_SQL), postgresql_where=sql_text(_UNHANDLED_SQL)),
)

# the statements of every turn, built once
_INSERT_MESSAGE = messages.insert()
# the bot's answer is stored only while its message is unfinished: a second answer finds it finished
_FINISH_WITH_READING = (
    messages.update()
    .where(messages.c.id == bindparam("answered_id"), messages.c.handling == PENDING)
    .values(reading=bindparam("reading", type_=JSON), handling=bindparam("handling"),
            handoff=bindparam("handoff", type_=JSON), handling_until=bindparam("until"))
)
_SET_HANDLING = (
    messages.update()
    .where(messages.c.id == bindparam("message_id"), messages.c.handling.in_(UNHANDLED))
    .values(handling=bindparam("handling"), handling_until=bindparam("until"))
)

# the same two writes on PostgreSQL, one round trip each on the driver (core/driver_sql.py)
_COLUMNS = ("id", "conversation_id", "seq", "sender", "client_id", "text", "payload", "extra", "created_at",
            "handling", "handling_until", "attempts")
# the values of a VALUES list in a SELECT are typed only by what they are cast to
_CASTS = {"seq": "::int", "extra": "::json", "created_at": "::timestamptz", "handling_until": "::timestamptz",
          "attempts": "::int"}
_INSERT_SQL = f"INSERT INTO messages ({', '.join(_COLUMNS)}) "
_FINISH_SQL = (
    "UPDATE messages SET reading = %(reading)s::json, handling = %(handling)s, handoff = %(handoff)s::json, "
    "handling_until = %(until)s::timestamptz WHERE id = %(answered_id)s AND handling = 'pending'"
)
# the replies are stored only if this statement finished the message they answer
_FINISH_AND_INSERT_SQL = (
    f"WITH finished AS ({_FINISH_SQL} RETURNING 1) {_INSERT_SQL}"
    f"SELECT * FROM (VALUES {{values}}) AS replies ({', '.join(_COLUMNS)}) WHERE EXISTS (SELECT 1 FROM finished)"
)


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Message:
    """One message of a conversation, as stored and as sent to clients."""

    id: str
    conversation_id: str
    seq: int
    sender: str
    text: str
    created_at: datetime
    client_id: Optional[str] = None
    payload: Optional[str] = None
    extra: Dict[str, Any] = field(default_factory=dict)
    reading: Optional[Dict[str, Any]] = None
    handling: Optional[str] = None
    handling_until: Optional[datetime] = None
    attempts: int = 0
    handoff: Optional[Dict[str, Any]] = None

    def to_frame(self) -> Dict[str, Any]:
        """The `message` frame of the chat protocol (docs/chat-protocol.md)."""
        created = self.created_at if self.created_at.tzinfo else self.created_at.replace(tzinfo=timezone.utc)
        frame = {
            "type": "message",
            "id": self.id,
            "seq": self.seq,
            "sender": self.sender,
            "text": self.text,
            "buttons": self.extra.get("buttons") or [],
            "image": self.extra.get("image"),
            "created_at": created.isoformat(),
        }
        if self.client_id:
            frame["client_id"] = self.client_id
        if self.extra.get("agent"):
            frame["agent"] = self.extra["agent"]
        if self.extra.get("reply_to"):
            frame["reply_to"] = self.extra["reply_to"]
        return frame

    def to_transcript_line(self) -> Dict[str, Any]:
        """The message as the agent sees it: the frame without its type, with the bot's reading."""
        line = self.to_frame()
        line.pop("type", None)
        if self.reading:
            line["reading"] = self.reading
        return line


def _row_to_message(row: Any) -> Message:
    return Message(
        id=row.id,
        conversation_id=row.conversation_id,
        seq=row.seq,
        sender=row.sender,
        text=row.text,
        created_at=_aware(row.created_at),
        client_id=row.client_id,
        payload=row.payload,
        extra=row.extra or {},
        reading=row.reading,
        handling=row.handling,
        handling_until=_aware(row.handling_until),
        attempts=row.attempts or 0,
        handoff=row.handoff,
    )


_CREATE_CONVERSATION_SQL = (
    "INSERT INTO conversations (id, customer_id, tier, shop_metadata, created_at, updated_at) "
    "VALUES (%(c_id)s, %(c_customer)s, %(c_tier)s, %(c_metadata)s::json, %(c_at)s::timestamptz, %(c_at)s::timestamptz)"
)
_FIRST_TOKEN_SQL = (
    "INSERT INTO resume_tokens (token_hash, conversation_id, created_at) "
    "VALUES (%(c_token)s, %(c_id)s, %(c_at)s::timestamptz)"
)


def _driver_values(rows: List[Dict[str, Any]]) -> Tuple[str, Dict[str, Any]]:
    # the driver takes JSON as text
    return driver_values([{**row, "extra": _json(row["extra"])} for row in rows], _COLUMNS, "m", _CASTS)


def _driver_insert(rows: List[Dict[str, Any]]) -> Tuple[str, Dict[str, Any]]:
    values, parameters = _driver_values(rows)
    return f"{_INSERT_SQL}VALUES {values}", parameters


def _json(value: Any) -> Optional[str]:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _aware(moment: Optional[datetime]) -> Optional[datetime]:
    # SQLite gives times back without their zone; they are stored in UTC
    return moment.replace(tzinfo=timezone.utc) if moment is not None and moment.tzinfo is None else moment


class ConversationStore:
    """Blocking SQL access to conversations and messages; the gateway calls it from a worker thread."""

    def __init__(self, engine: Engine, lease_seconds: float = 6.0) -> None:
        """`engine`'s database must be migrated already (core.db.upgrade_schema, once per process).
        `lease_seconds`: how long a pending message stays with whoever holds it without a renewal."""
        self.engine = engine
        self.lease = timedelta(seconds=lease_seconds)
        # each recent conversation's last stored seq, so a message is numbered without reading the
        # maximum first. Another writer (a second gateway) may have numbered meanwhile: then the unique
        # seq refuses the insert, the entry is dropped and the retry reads the maximum
        self._last_seq: OrderedDict[str, int] = OrderedDict()
        # on PostgreSQL several database threads share the cache: moving and evicting must not interleave
        self._seq_lock = threading.Lock()
        # this process's writers of one conversation take turns (a lock per stripe of conversations), so its
        # threads do not race each other for the next seq: only another gateway's write can make a seq taken
        self._numbering = [threading.Lock() for _ in range(NUMBERING_STRIPES)]
        # PostgreSQL: a turn's two writes go straight to the driver, one round trip each
        self._driver = DriverConnections(engine) if engine.dialect.name == "postgresql" else None

    def close(self) -> None:
        """Closes the connections this store opened itself (the engine's pool is its owner's)."""
        if self._driver is not None:
            self._driver.close()

    def _numbering_lock(self, conversation_id: str) -> threading.Lock:
        return self._numbering[hash(conversation_id) % NUMBERING_STRIPES]

    def _remember_seq(self, conversation_id: str, seq: int) -> None:
        with self._seq_lock:
            self._last_seq[conversation_id] = seq
            self._last_seq.move_to_end(conversation_id)
            while len(self._last_seq) > SEQ_CACHE_SIZE:
                self._last_seq.popitem(last=False)

    def create_conversation(self, shop_metadata: Dict[str, str], resume_token_hash: Optional[str] = None) -> str:
        """A new conversation; returns its id. The id is public (agents, exports and logs show it): the
        customer's credential is the resume token whose hash, when given, is stored with it (resume_tokens.py)."""
        conversation_id = secrets.token_urlsafe(18)
        now = _now()
        if self._driver is not None:
            # one round trip: the conversation and its first token (a new conversation has no older tokens to
            # trim); not repeated on a dropped connection (the first try may have stored it): the hello fails
            # and the customer's widget says hello again
            statements = [_CREATE_CONVERSATION_SQL] + ([_FIRST_TOKEN_SQL] if resume_token_hash else [])
            self._driver.execute(statements, {
                "c_id": conversation_id, "c_customer": shop_metadata.get("customer_id"),
                "c_tier": shop_metadata.get("tier"), "c_metadata": _json(shop_metadata), "c_at": now,
                "c_token": resume_token_hash}, repeat_on_drop=False)
            return conversation_id
        with self.engine.begin() as connection:
            connection.execute(
                conversations.insert().values(
                    id=conversation_id,
                    customer_id=shop_metadata.get("customer_id"),
                    tier=shop_metadata.get("tier"),
                    shop_metadata=shop_metadata,
                    created_at=now,
                    updated_at=now,
                )
            )
            if resume_token_hash:
                resume_tokens.store_token(connection, conversation_id, resume_token_hash)
        return conversation_id

    def add_resume_token(self, conversation_id: str, resume_token_hash: str) -> None:
        """Keeps another resume token's hash for the conversation (a verified customer on another device)."""
        with write_transaction(self.engine) as connection:
            resume_tokens.store_token(connection, conversation_id, resume_token_hash)

    def conversation_of_token(self, resume_token_hash: str) -> Optional[str]:
        """The conversation a resume token's hash opens, or None."""
        with self.engine.connect() as connection:
            return resume_tokens.conversation_of(connection, resume_token_hash)

    def conversation_metadata(self, conversation_id: str) -> Optional[Dict[str, str]]:
        """The shop metadata of a conversation, or None if there is no such conversation."""
        with self.engine.connect() as connection:
            row = connection.execute(
                select(conversations.c.shop_metadata).where(conversations.c.id == conversation_id)
            ).first()
        return None if row is None else dict(row.shop_metadata or {})

    def latest_conversation_of(self, customer_id: str) -> Optional[str]:
        """The id of the verified customer's most recent conversation, or None."""
        with self.engine.connect() as connection:
            return connection.execute(
                select(conversations.c.id).where(conversations.c.customer_id == customer_id)
                .order_by(conversations.c.created_at.desc()).limit(1)
            ).scalar()

    def update_metadata(self, conversation_id: str, shop_metadata: Dict[str, str]) -> Dict[str, str]:
        """Merges new metadata (the customer moved to another page, logged in) and returns the result."""
        with write_transaction(self.engine) as connection:
            row = connection.execute(
                select(conversations.c.shop_metadata).where(conversations.c.id == conversation_id)
            ).first()
            merged = {**dict(row.shop_metadata or {}), **shop_metadata} if row else dict(shop_metadata)
            connection.execute(
                conversations.update()
                .where(conversations.c.id == conversation_id)
                .values(
                    shop_metadata=merged,
                    customer_id=merged.get("customer_id"),
                    tier=merged.get("tier"),
                    updated_at=_now(),
                )
            )
        return merged

    def append(
        self,
        conversation_id: str,
        sender: str,
        text: str,
        client_id: Optional[str] = None,
        payload: Optional[str] = None,
        extra: Optional[Dict[str, Any]] = None,
    ) -> Tuple[Message, bool]:
        """Stores a message with the next seq; returns (message, duplicate).

        A customer message whose client_id is already stored is not stored
        again: the stored one comes back with duplicate=True.
        """
        message, duplicate, _ = self.append_and_read(conversation_id, sender, text, client_id, payload, extra)
        return message, duplicate

    def append_and_read(
        self,
        conversation_id: str,
        sender: str,
        text: str,
        client_id: Optional[str] = None,
        payload: Optional[str] = None,
        extra: Optional[Dict[str, Any]] = None,
        read: Optional[Read] = None,
    ) -> Tuple[Message, bool, Optional[Any]]:
        """`append`, plus `read` in the same transaction (what decides where the message goes, read as of its
        storing); (message, duplicate, what `read` found)."""
        for _attempt in range(5):
            try:
                with self._numbering_lock(conversation_id):
                    rows = self._new_rows(conversation_id, [(sender, text, extra)], client_id, payload)
                    found = self._store_message(rows, read)
                    self._remember_seq(conversation_id, rows[-1]["seq"])
                return Message(**rows[0]), False, found
            except IntegrityError:
                # this client id is stored already (a re-sent message), or another writer took this
                # seq first: the unique constraints decide, so the common case needs no read beforehand
                self._last_seq.pop(conversation_id, None)
                if client_id:
                    existing = self.by_client_id(conversation_id, client_id)
                    if existing:
                        return existing, True, None
                continue
        raise RuntimeError(f"could not store a message in conversation {conversation_id} after 5 attempts")

    def append_bot_turn(
        self,
        conversation_id: str,
        answered_id: Optional[str],
        reading: Optional[Dict[str, Any]],
        replies: List[Tuple[str, Dict[str, Any]]],
        handoff: Optional[Dict[str, Any]] = None,
    ) -> Optional[List[Message]]:
        """In one transaction: the customer message the bot answers finished with the bot's reading (answered;
        or handing_over, keeping `handoff`, when the bot asks for a person), and the replies (text, extra) with
        the next seqs. None, and nothing stored, when that message is finished already: it was answered by
        another gateway that took it over, so this answer would be the second."""
        for _attempt in range(5):
            try:
                with self._numbering_lock(conversation_id):
                    rows = self._new_rows(conversation_id, [("bot", t, e) for t, e in replies])
                    finish = None if not answered_id else {
                        "answered_id": answered_id, "reading": reading, "handoff": handoff,
                        "handling": HANDING_OVER if handoff else ANSWERED,
                        "until": _now() + self.lease if handoff else None,
                    }
                    if not self._store_bot_turn(finish, rows):
                        return None
                    if rows:
                        self._remember_seq(conversation_id, rows[-1]["seq"])
                return [Message(**row) for row in rows]
            except IntegrityError:
                self._last_seq.pop(conversation_id, None)  # another writer took these seqs first
        raise RuntimeError(f"could not store the bot's turn in conversation {conversation_id} after 5 attempts")

    def _store_message(self, rows: List[Dict[str, Any]], read: Optional[Read]) -> Optional[Any]:
        """The message rows inserted and `read` run after them, in one transaction; what `read` found."""
        if self._driver is None:
            with write_transaction(self.engine) as connection:
                connection.execute(_INSERT_MESSAGE, rows)
                return read.run(connection) if read else None
        sql, parameters = _driver_insert(rows)
        if read is None:
            self._driver.execute(sql, parameters)
            return None
        return self._driver.write_and_read(sql, parameters, read)

    def _store_bot_turn(self, finish: Optional[Dict[str, Any]], rows: List[Dict[str, Any]]) -> bool:
        """The answered message finished (when `finish` names one) and the reply rows inserted, in one
        transaction; False, and nothing stored, when that message was finished already."""
        if self._driver is None:
            with write_transaction(self.engine) as connection:
                if finish is not None and not connection.execute(_FINISH_WITH_READING, finish).rowcount:
                    return False
                if rows:
                    connection.execute(_INSERT_MESSAGE, rows)
            return True
        if finish is None:
            if rows:
                self._driver.execute(*_driver_insert(rows))
            return True
        finish = {**finish, "reading": _json(finish["reading"]), "handoff": _json(finish["handoff"])}
        if not rows:
            return bool(self._driver.execute(_FINISH_SQL, finish))
        values, parameters = _driver_values(rows)
        return bool(self._driver.execute(_FINISH_AND_INSERT_SQL.format(values=values), {**parameters, **finish}))

    def finish(self, message_id: str, handling: str) -> bool:
        """Marks an unfinished customer message answered, to_agent or handed_over; False if it was finished."""
        with write_transaction(self.engine) as connection:
            return bool(connection.execute(
                _SET_HANDLING, {"message_id": message_id, "handling": handling, "until": None}
            ).rowcount)

    def renew(self, message_ids: List[str]) -> None:
        """Extends the leases of unfinished messages this gateway is handling."""
        if not message_ids:
            return
        with write_transaction(self.engine) as connection:
            connection.execute(
                update(messages)
                .where(messages.c.id.in_(message_ids), messages.c.handling.in_(UNHANDLED))
                .values(handling_until=_now() + self.lease)
            )

    def release(self, message_id: str, retry_in_seconds: float) -> None:
        """Leaves an unfinished message for whoever looks after `retry_in_seconds` (the bot could not answer)."""
        with write_transaction(self.engine) as connection:
            connection.execute(
                update(messages)
                .where(messages.c.id == message_id, messages.c.handling.in_(UNHANDLED))
                .values(handling_until=_now() + timedelta(seconds=retry_in_seconds))
            )

    def pending_summary(self) -> Tuple[int, Optional[datetime]]:
        """How many customer messages are unfinished (all gateways), and when the oldest was stored."""
        with self.engine.connect() as connection:
            count, oldest = connection.execute(
                select(func.count(), func.min(messages.c.created_at)).where(sql_text(_UNHANDLED_SQL))
            ).one()
        return int(count or 0), _aware(oldest)

    def claim_unhandled(self, limit: int = 50) -> List[Message]:
        """Unfinished customer messages whose lease ran out, oldest first, each now leased to the caller (with
        one more attempt counted); a message another gateway claimed first is left out."""
        now = _now()
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(messages)
                .where(sql_text(_UNHANDLED_SQL), messages.c.handling_until < now)
                .order_by(messages.c.created_at, messages.c.seq)
                .limit(limit)
            ).all()
        claimed = []
        for row in rows:
            with write_transaction(self.engine) as connection:
                taken = connection.execute(
                    update(messages)
                    .where(messages.c.id == row.id, messages.c.handling.in_(UNHANDLED),
                           messages.c.handling_until < now)
                    .values(handling_until=_now() + self.lease, attempts=messages.c.attempts + 1)
                ).rowcount
            if taken:
                message = _row_to_message(row)
                message.attempts += 1
                claimed.append(message)
        return claimed

    def _new_rows(
        self,
        conversation_id: str,
        items: List[Tuple[str, str, Optional[Dict[str, Any]]]],
        client_id: Optional[str] = None,
        payload: Optional[str] = None,
    ) -> List[Dict[str, Any]]:
        """Rows of (sender, text, extra) items with consecutive seqs after the conversation's last (read from the
        database when it is not kept)."""
        if not items:
            return []
        last = self._last_seq.get(conversation_id)
        if last is None:
            with self.engine.connect() as connection:
                last = connection.execute(
                    select(func.max(messages.c.seq)).where(messages.c.conversation_id == conversation_id)
                ).scalar() or 0
        now = _now()
        rows = []
        for offset, (sender, text, extra) in enumerate(items, start=1):
            if sender not in SENDERS:
                raise ValueError(f"unknown sender {sender!r}; expected one of {SENDERS}")
            customer = sender == "customer"
            rows.append(dict(
                id=uuid4().hex, conversation_id=conversation_id, seq=last + offset, sender=sender,
                client_id=client_id, text=text, payload=payload,
                extra=json.loads(json.dumps(extra or {}, ensure_ascii=False)), created_at=now,
                handling=PENDING if customer else None, handling_until=now + self.lease if customer else None,
                attempts=0, handoff=None,
            ))
        return rows

    def by_client_id(self, conversation_id: str, client_id: str) -> Optional[Message]:
        """The customer message with this client id, if it is stored."""
        with self.engine.connect() as connection:
            row = connection.execute(
                select(messages).where(
                    messages.c.conversation_id == conversation_id, messages.c.client_id == client_id
                )
            ).first()
        return _row_to_message(row) if row else None

    def history(self, conversation_id: str, after_seq: int = 0, limit: int = 500) -> List[Message]:
        """Messages with seq > after_seq, oldest first, at most `limit` (the newest ones if more)."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(messages)
                .where(messages.c.conversation_id == conversation_id, messages.c.seq > after_seq)
                .order_by(messages.c.seq.desc())
                .limit(limit)
            ).all()
        return [_row_to_message(row) for row in reversed(rows)]

    def last_customer_texts(self, conversation_ids: List[str]) -> Dict[str, str]:
        """The newest customer message of each conversation (queue previews), in one query."""
        if not conversation_ids:
            return {}
        newest = (
            select(messages.c.conversation_id, func.max(messages.c.seq).label("seq"))
            .where(messages.c.conversation_id.in_(conversation_ids), messages.c.sender == "customer")
            .group_by(messages.c.conversation_id)
            .subquery()
        )
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(messages.c.conversation_id, messages.c.text).join(
                    newest,
                    (messages.c.conversation_id == newest.c.conversation_id) & (messages.c.seq == newest.c.seq),
                )
            ).all()
        return {row.conversation_id: row.text for row in rows}

    def offered_payloads(self, conversation_id: str, recent: int = 20) -> List[str]:
        """Button payloads the bot offered in its last `recent` messages."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(messages.c.extra)
                .where(messages.c.conversation_id == conversation_id, messages.c.sender != "customer")
                .order_by(messages.c.seq.desc())
                .limit(recent)
            ).all()
        return [
            str(button.get("payload"))
            for row in rows
            for button in (row.extra or {}).get("buttons") or []
            if button.get("payload")
        ]
