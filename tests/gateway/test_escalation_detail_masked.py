"""The escalation's detail (what matched) can quote the customer: the event log stores it masked."""

from __future__ import annotations

import re

from tests.gateway.conftest import open_conversation, receive_until
from tests.gateway.test_event_log import logged_eventually
from tests.gateway.test_handoff import add_agent, desk_of

PHONE = "13812345678"


async def test_an_angry_message_with_a_phone_is_escalated_and_its_logged_detail_has_no_digits_of_it(
    client, stand_in_rasa
):
    add_agent(client, "li", "小李")
    ws, welcome = await open_conversation(client)
    await ws.send_json({"type": "message", "client_id": "a", "text": f"气死我了！！！找个{PHONE}的人"})
    await receive_until(ws, lambda f: f["type"] == "queue")
    ticket = desk_of(client).queue.open_ticket_for(welcome["session_id"])
    assert ticket is not None and stand_in_rasa.received == []
    events = await logged_eventually(client, welcome["session_id"], ["escalation"])
    escalation = next(e for e in events if e.kind == "escalation")
    stored = escalation.detail["detail"]
    # the rule quoted the customer's words; the phone number is masked, not cut or dropped
    assert "〔手机号〕" in stored and not re.search(r"\d", stored), stored
    assert escalation.reason == ticket.reason
