"""Fixtures for personal data: the product's database (SQLite, and this machine's PostgreSQL), Rasa's tracker
database beside it, and a seeded customer: two conversations with messages, a resolved ticket, events and
Rasa's stored turns, plus another customer who must be left alone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import List

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered

from analytics.events import Event, EventLog
from bot.gateway.rasa_trackers import RasaTrackers
from bot.gateway.store import ConversationStore
from bot.rasa_endpoints import tracker_store_endpoint
from bot.rasa_tracker_store import CachedSQLTrackerStore
from core.db import create_database_engine, upgrade_schema
from core.settings import PROJECT_ROOT
from handoff.queue import TicketQueue
from tests.conftest import postgres_schema

DOMAIN = Domain.load(str(PROJECT_ROOT / "domain.yml"))
PHONE, ID_NUMBER, ADDRESS = "13812345678", "110101199003074578", "北京市朝阳区建国路88号1203室"
RAW = f"我的手机{PHONE}，身份证{ID_NUMBER}，寄到{ADDRESS}"


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    if request.param == "sqlite":
        engine = create_database_engine(f"sqlite:///{tmp_path / 'shop.db'}")
        upgrade_schema(engine)
        yield engine
        engine.dispose()
        return
    with postgres_schema() as url:
        engine = create_database_engine(url)
        upgrade_schema(engine)
        yield engine
        engine.dispose()


@pytest.fixture
def tracker_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'rasa-trackers.db'}"


def open_rasa_store(url: str) -> CachedSQLTrackerStore:
    """The tracker store as a running Rasa builds it from the product's endpoints file."""
    entry = dict(tracker_store_endpoint(url))
    entry.pop("type")
    host = entry.pop("url", None)
    return CachedSQLTrackerStore(host=host, domain=DOMAIN, event_broker=None, **entry)


async def rasa_turn(store: CachedSQLTrackerStore, sender: str, text: str) -> None:
    tracker = await store.get_or_create_tracker(sender)
    tracker.update(UserUttered(text, {"name": "faq", "confidence": 0.9}))
    tracker.update(ActionExecuted("action_answer_faq"))
    tracker.update(BotUttered("好的"))
    tracker.update(ActionExecuted("action_listen"))
    await store.save(tracker)


@dataclass
class Seeded:
    store: ConversationStore
    trackers: RasaTrackers
    rasa: CachedSQLTrackerStore
    mine: List[str]  # the customer C1's conversations
    other: str  # C2's


@pytest.fixture
async def seeded(engine, tracker_url) -> Seeded:
    store = ConversationStore(engine)
    queue = TicketQueue(engine)
    log = EventLog(engine)
    rasa = open_rasa_store(tracker_url)
    now = datetime.now(timezone.utc)
    first = store.create_conversation({"customer_id": "C1", "tier": "gold", "name": "王女士"})
    second = store.create_conversation({"customer_id": "C1", "tier": "gold"})
    other = store.create_conversation({"customer_id": "C2", "tier": "gold"})
    for conversation, text in ((first, RAW), (second, "转人工"), (other, "退款多久到账")):
        store.append(conversation, "customer", text, client_id="m1")
        store.append(conversation, "bot", "收到")
        await rasa_turn(rasa, conversation, text)
    ticket, _ = queue.open(second, reason="request_human", detail=f"要求人工：{RAW}", priority=10,
                           customer_id="C1", tier="gold", transcript=[{"text": RAW}], contact_phone=PHONE)
    queue.resolve(ticket.id, None, f"已回电 {PHONE}")
    log.write_many([
        # C1's first visit looks deflected, but C1 came back within 24 h and was escalated: not deflected
        Event(first, "customer_message", at=now - timedelta(hours=3), customer_id="C1", intent="faq",
              text=RAW, detail={"to": "bot", "entities": [{"entity": "phone_number", "value": PHONE}]}),
        Event(first, "bot_answer", at=now - timedelta(hours=3), customer_id="C1", kb_key="refund"),
        Event(second, "customer_message", at=now - timedelta(hours=1), customer_id="C1", intent="faq",
              text="转人工", detail={"to": "bot"}),
        Event(second, "escalation", at=now - timedelta(hours=1), customer_id="C1", reason="request_human",
              ticket_id=ticket.id, detail={"detail": f"要求人工：{RAW}", "priority": 10}),
        Event(second, "resolution", at=now - timedelta(minutes=30), customer_id="C1", ticket_id=ticket.id,
              detail={"wait_seconds": 5.0, "handling_seconds": 60.0}),
        Event(other, "customer_message", at=now - timedelta(hours=2), customer_id="C2", intent="faq",
              text="退款多久到账", detail={"to": "bot"}),
        Event(other, "bot_answer", at=now - timedelta(hours=2), customer_id="C2", kb_key="refund"),
    ])
    trackers = RasaTrackers(tracker_url)
    yield Seeded(store, trackers, rasa, [first, second], other)
    trackers.close()
    rasa.engine.dispose()
