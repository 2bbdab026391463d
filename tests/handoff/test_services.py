"""The handoff service on SQLite and PostgreSQL: one unit of work per command, events published after the
commit and in order, refusals as domain errors, and the stored conversation (with the bot's readings) as
the ticket's transcript."""

from __future__ import annotations

from typing import Any, List

import pytest
from sqlalchemy import event

from bot.gateway.hub import ConversationHub
from bot.gateway.store import ConversationStore
from handoff.accounts import AgentDirectory
from handoff.business_hours import BusinessHours
from handoff.errors import HandoffRefused
from handoff.escalation import Escalation, Rules
from handoff.events import QueueChanged, TicketCancelled, TicketOpened
from handoff.queue import TicketQueue
from handoff.schema import ASSIGNED, LEFT_MESSAGE, WAITING
from handoff.services import HandoffService

AROUND_THE_CLOCK = {"hours": "00:00-23:59:59", "days": "mon-sun", "holidays": []}
PERSON = Escalation("request_human", "转人工", 10)


@pytest.fixture
async def parts(engine):
    hub = ConversationHub(ConversationStore(engine))
    directory = AgentDirectory(engine)
    service = HandoffService(
        engine, TicketQueue(engine), directory, hub, Rules.from_settings({}),
        BusinessHours.from_settings(AROUND_THE_CLOCK), hub.run_blocking,
    )
    yield service, hub, directory
    hub.close()


def online_agent(directory: AgentDirectory, username: str):
    agent = directory.add(username, username, "password-123")
    directory.touch(agent.id)
    return agent


def count_transactions(engine) -> List[int]:
    """A one-item list counting transactions begun on `engine` from now on."""
    begun = [0]

    def on_begin(_connection: Any) -> None:
        begun[0] += 1

    event.listen(engine, "begin", on_begin)
    return begun


async def test_an_escalation_is_committed_before_any_listener_hears_of_it(parts, engine):
    service, hub, directory = parts
    online_agent(directory, "li")
    conversation_id = await hub.start_conversation({"customer_id": "C1", "tier": "gold"})
    heard: List[Any] = []

    async def listener(happened: Any) -> None:
        # what the listener is told is already in the database
        if isinstance(happened, TicketOpened):
            stored = await service.get(happened.ticket.id)
            heard.append(("opened", stored.status, happened.created, happened.place.position))
        else:
            heard.append((type(happened).__name__, [p.ticket.conversation_id for p in happened.places]))

    service.events.subscribe(listener)
    ticket = await service.escalate(conversation_id, PERSON)
    assert heard == [("opened", WAITING, True, 1), ("QueueChanged", [conversation_id])]
    assert ticket.customer_id == "C1" and ticket.tier == "gold"

    heard.clear()
    again = await service.escalate(conversation_id, PERSON)
    assert again.id == ticket.id and heard == [("opened", WAITING, False, 1)]


async def test_escalating_takes_three_transactions_and_taking_one(parts, engine):
    service, hub, directory = parts
    agent = online_agent(directory, "li")
    conversation_id = await hub.start_conversation({})
    begun = count_transactions(engine)
    await service.escalate(conversation_id, PERSON)
    # the check, the transcript read, the ticket with the new queue; metadata is cached by the hub
    assert begun[0] == 3
    begun[0] = 0
    taken = await service.take_next(agent)
    assert taken.status == ASSIGNED and begun[0] == 1


async def test_the_ticket_keeps_the_stored_conversation_with_the_bots_readings(parts):
    service, hub, directory = parts
    online_agent(directory, "li")
    conversation_id = await hub.start_conversation({})
    asked, _ = await hub.post(conversation_id, "customer", "退款多久到账", client_id="1")
    reading = {"intent": "faq/refund_arrival_time", "confidence": 0.93, "entities": [],
               "faq_key": "refund_arrival_time", "kb_shown": ["refund_arrival_time"]}
    await hub.post_bot_turn(conversation_id, asked, reading, [("退款会原路退回……", {})])
    await hub.post(conversation_id, "customer", "转人工", client_id="2")
    ticket = await service.escalate(conversation_id, PERSON)
    assert [(line["sender"], line.get("reading")) for line in ticket.transcript] == [
        ("customer", reading), ("bot", None), ("customer", None),
    ]


async def test_a_failing_listener_does_not_stop_the_others_or_undo_the_change(parts):
    service, hub, directory = parts
    agent = online_agent(directory, "li")
    conversation_id = await hub.start_conversation({})
    heard: List[str] = []

    async def broken(_happened: Any) -> None:
        raise RuntimeError("a listener's own bug")

    async def listener(happened: Any) -> None:
        heard.append(type(happened).__name__)

    service.events.subscribe(broken)
    service.events.subscribe(listener)
    ticket = await service.escalate(conversation_id, PERSON)
    await service.take_next(agent)
    resolved = await service.resolve(agent, ticket.id, "已处理")
    assert heard == ["TicketOpened", "QueueChanged", "TicketTaken", "QueueChanged", "TicketResolved", "QueueChanged"]
    assert (await service.get(ticket.id)).status == resolved.status == "resolved"


async def test_customers_refusals_are_domain_errors(parts):
    service, hub, directory = parts
    conversation_id = await hub.start_conversation({})
    with pytest.raises(HandoffRefused) as refused:
        await service.cancel(conversation_id)
    assert refused.value.code == "no_ticket"
    with pytest.raises(HandoffRefused) as refused:
        await service.rate(conversation_id, 1, 9, "")
    assert refused.value.code == "bad_rating"
    with pytest.raises(HandoffRefused) as refused:
        await service.leave_message(conversation_id, "帮我看看", "12345")
    assert refused.value.code == "bad_phone"


async def test_nobody_online_asks_for_a_left_message_instead_of_opening_a_ticket(parts):
    service, hub, _ = parts
    conversation_id = await hub.start_conversation({})
    heard: List[Any] = []

    async def listener(happened: Any) -> None:
        heard.append(happened)

    service.events.subscribe(listener)
    assert await service.escalate(conversation_id, PERSON) is None
    assert [type(h).__name__ for h in heard] == ["LeftMessageRequested"]
    assert "没有人工客服在线" in heard[0].text
    ticket = await service.leave_message(conversation_id, "发票抬头写错了", "13800138000")
    assert ticket.contact_phone == "13800138000" and ticket.kind == LEFT_MESSAGE
    assert [type(h).__name__ for h in heard[1:]] == ["MessageLeft", "QueueChanged"]


async def test_cancelling_and_the_queue_after_it(parts):
    service, hub, directory = parts
    online_agent(directory, "li")
    first = await hub.start_conversation({})
    second = await hub.start_conversation({})
    await service.escalate(first, PERSON)
    await service.escalate(second, PERSON)
    heard: List[Any] = []

    async def listener(happened: Any) -> None:
        heard.append(happened)

    service.events.subscribe(listener)
    await service.cancel(first)
    cancelled, changed = heard
    assert isinstance(cancelled, TicketCancelled) and cancelled.ticket.conversation_id == first
    assert isinstance(changed, QueueChanged)
    assert [(p.ticket.conversation_id, p.position) for p in changed.places] == [(second, 1)]
