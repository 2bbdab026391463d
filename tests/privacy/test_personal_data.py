"""One customer's data exported and erased across messages, tickets, events and Rasa's trackers (a running Rasa's
kept copy included), with the figures unchanged and the action recorded without the data."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from analytics.events import EventLog, events
from analytics.metrics import CostSettings, summary
from bot.gateway.personal_data import (
    PSEUDONYM_PREFIX,
    NothingStored,
    PersonalData,
    PersonalDataError,
    Subject,
    TicketStillOpen,
    privacy_actions,
)
from bot.gateway.store import conversations, messages
from handoff.queue import TicketQueue
from handoff.schema import tickets
from tests.privacy.conftest import ADDRESS, ID_NUMBER, PHONE, RAW


def figures(engine):
    now = datetime.now(timezone.utc)
    found = EventLog(engine).between(now - timedelta(days=2), now + timedelta(hours=1))
    settings = CostSettings()
    today = now.date()
    return summary(found, today - timedelta(days=1), today + timedelta(days=1), "day", settings, now=now)["totals"]


def rows(engine, table, *where):
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(select(table).where(*where))]


def test_a_subject_names_exactly_one_customer_or_conversation():
    assert Subject.of(customer_id=" C1 ") == Subject("customer", "C1")
    assert Subject.of(conversation_id="abc") == Subject("conversation", "abc")
    for wrong in ({}, {"customer_id": "C1", "conversation_id": "abc"}, {"customer_id": "  "},
                  {"customer_id": "x" * 201}, {"customer_id": "C\ud800"}):
        with pytest.raises(PersonalDataError):
            Subject.of(**wrong)


async def test_the_export_holds_every_table_of_the_customer_and_nobody_else(engine, seeded):
    data = PersonalData(engine, seeded.trackers).export(Subject.of(customer_id="C1"), "zhang")
    assert sorted(c["id"] for c in data["conversations"]) == sorted(seeded.mine)
    assert {m["conversation_id"] for m in data["messages"]} == set(seeded.mine) and len(data["messages"]) == 4
    assert RAW in [m["text"] for m in data["messages"]]
    assert len(data["tickets"]) == 1 and data["tickets"][0]["contact_phone"] == PHONE
    assert "claim" not in data["tickets"][0]
    assert {e["customer_id"] for e in data["conversation_events"]} == {"C1"} and len(data["conversation_events"]) == 5
    assert {e["sender_id"] for e in data["rasa_tracker_events"]} == set(seeded.mine)
    assert RAW in [e["data"].get("text") for e in data["rasa_tracker_events"]]
    json.dumps(data, ensure_ascii=False)  # a download: everything is JSON
    record = rows(engine, privacy_actions)
    assert [(r["actor"], r["action"], r["subject"]) for r in record] == [("zhang", "export", "C1")]
    assert record[0]["counts"]["messages"] == 4


async def test_an_anonymous_visitor_is_exported_by_conversation(engine, seeded):
    data = PersonalData(engine, seeded.trackers).export(Subject.of(conversation_id=seeded.mine[0]), "zhang")
    assert [c["id"] for c in data["conversations"]] == [seeded.mine[0]]
    assert len(data["messages"]) == 2 and not data["tickets"]
    with pytest.raises(NothingStored):
        PersonalData(engine, seeded.trackers).export(Subject.of(conversation_id="nobody"), "zhang")


async def test_erasure_removes_the_customer_everywhere_and_keeps_the_figures(engine, seeded):
    before = figures(engine)
    assert before["deflected"] == 1, "C2's visit only: C1 came back and was escalated"
    kept = await seeded.rasa.retrieve(seeded.mine[0])
    assert kept is not None  # a running Rasa keeps this tracker in memory
    rasa_rows = len(seeded.trackers.export(seeded.mine))

    erased = PersonalData(engine, seeded.trackers).erase(Subject.of(customer_id="C1"), "zhang")
    counts = erased.counts
    assert sorted(erased.conversation_ids) == sorted(seeded.mine)

    assert counts == {"messages": 4, "tickets": 1, "conversations": 2, "conversation_events": 5,
                      "rasa_tracker_events": rasa_rows}
    assert not rows(engine, messages, messages.c.conversation_id.in_(seeded.mine))
    ticket = rows(engine, tickets)[0]
    assert (ticket["customer_id"], ticket["contact_phone"], ticket["transcript"], ticket["resolution_note"],
            ticket["reason_detail"]) == (None, None, [], None, "")
    assert ticket["status"] == "resolved" and ticket["reason"] == "request_human"
    for conversation in rows(engine, conversations, conversations.c.id.in_(seeded.mine)):
        assert (conversation["customer_id"], conversation["shop_metadata"]) == (None, {})
    erased = rows(engine, events, events.c.conversation_id.in_(seeded.mine))
    pseudonyms = {e["customer_id"] for e in erased}
    assert len(pseudonyms) == 1 and pseudonyms.pop().startswith(PSEUDONYM_PREFIX)
    stored = json.dumps([erased, rows(engine, tickets), rows(engine, conversations)], ensure_ascii=False,
                        default=str)
    for value in (PHONE, ID_NUMBER, ADDRESS, "\"C1\"", "王女士"):  # "C1" as a whole JSON string: ids are random
        assert value not in stored, f"{value} is still stored after erasure"
    assert figures(engine) == before, "erasure must not change the figures"
    # the other customer is untouched
    assert len(rows(engine, messages, messages.c.conversation_id == seeded.other)) == 2
    assert {e["customer_id"] for e in rows(engine, events, events.c.conversation_id == seeded.other)} == {"C2"}
    assert seeded.trackers.export([seeded.other])
    # Rasa's rows are gone, and the running Rasa drops its kept copy instead of answering from it
    assert not seeded.trackers.export(seeded.mine)
    assert await seeded.rasa.retrieve(seeded.mine[0]) is None
    record = rows(engine, privacy_actions)
    assert [(r["actor"], r["action"], r["subject_kind"], r["subject"]) for r in record] == [
        ("zhang", "erase", "customer", "C1")]
    assert record[0]["counts"] == counts
    with pytest.raises(NothingStored):
        PersonalData(engine, seeded.trackers).export(Subject.of(customer_id="C1"), "zhang")


async def test_erasure_waits_while_the_customer_talks_to_a_person(engine, seeded):
    TicketQueue(engine).open(seeded.mine[0], reason="request_human", detail="", priority=10, customer_id="C1")
    with pytest.raises(TicketStillOpen):
        PersonalData(engine, seeded.trackers).erase(Subject.of(customer_id="C1"), "zhang")
    assert len(rows(engine, messages, messages.c.conversation_id.in_(seeded.mine))) == 4
    assert not rows(engine, privacy_actions)
