"""The retention windows enforced on rows dated in the past: what is older goes, what is newer stays."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from analytics.events import events
from bot.gateway.personal_data import privacy_actions
from bot.gateway.rasa_trackers import rasa_events
from bot.gateway.retention import RetentionJob, RetentionWindows, enforce
from bot.gateway.store import conversations, messages
from core.settings import SettingsError
from handoff.queue import TicketQueue
from handoff.schema import tickets
from tools import privacy as privacy_command

NOW = datetime.now(timezone.utc)
WINDOWS = RetentionWindows(transcript_days=180, ticket_days=365, event_days=730, rasa_tracker_days=30)


def age(engine, conversation_id: str, days: float) -> None:
    """Moves a conversation, its messages, tickets and events `days` into the past."""
    then = NOW - timedelta(days=days)
    with engine.begin() as connection:
        connection.execute(update(conversations).where(conversations.c.id == conversation_id)
                           .values(created_at=then, updated_at=then))
        connection.execute(update(messages).where(messages.c.conversation_id == conversation_id)
                           .values(created_at=then))
        connection.execute(update(tickets).where(tickets.c.conversation_id == conversation_id)
                           .values(created_at=then, resolved_at=then))
        connection.execute(update(events).where(events.c.conversation_id == conversation_id).values(at=then))


def age_rasa(seeded, conversation_id: str, days: float) -> None:
    engine = seeded.trackers._connect()
    with engine.begin() as connection:
        connection.execute(update(rasa_events).where(rasa_events.c.sender_id == conversation_id)
                           .values(timestamp=(NOW - timedelta(days=days)).timestamp()))


def count(engine, table, *where) -> int:
    with engine.connect() as connection:
        return len(connection.execute(select(table).where(*where)).all())


async def test_each_window_takes_what_is_older_and_leaves_what_is_newer(engine, seeded):
    first, second = seeded.mine
    age(engine, first, 200)    # transcript expired; its events (masked) stay
    age(engine, second, 800)   # everything expired, its resolved ticket too
    age_rasa(seeded, first, 40)
    age_rasa(seeded, seeded.other, 10)

    counts = enforce(engine, seeded.trackers, WINDOWS, now=NOW)

    assert count(engine, messages, messages.c.conversation_id.in_(seeded.mine)) == 0
    assert count(engine, messages, messages.c.conversation_id == seeded.other) == 2
    assert count(engine, tickets) == 0
    with engine.connect() as connection:
        row = dict(connection.execute(select(conversations).where(conversations.c.id == first)).one()._mapping)
    assert (row["customer_id"], row["shop_metadata"]) == (None, {}), "the quiet conversation is anonymised"
    assert count(engine, conversations, conversations.c.id == second) == 0, "nothing left of it: the row goes"
    assert count(engine, events, events.c.conversation_id == first) == 2
    assert count(engine, events, events.c.conversation_id == second) == 0
    assert count(engine, events, events.c.conversation_id == seeded.other) == 2
    assert not seeded.trackers.export([first]) and seeded.trackers.export([seeded.other])
    assert seeded.trackers.export([second]), "Rasa's rows of a conversation active 0 days ago stay"
    assert counts["messages"] == 4 and counts["conversation_events"] == 3 and counts["tickets_deleted"] == 1
    # recorded, and a second run finds nothing more to do
    assert count(engine, privacy_actions, privacy_actions.c.action == "retention") == 1
    assert enforce(engine, seeded.trackers, WINDOWS, now=NOW) == {}
    assert count(engine, privacy_actions) == 1


async def test_a_ticket_counts_from_its_resolution_not_its_opening(engine, seeded):
    """Opened 400 days ago, resolved yesterday: within the 365-day window (it counted from its opening)."""
    _, second = seeded.mine  # the one with a (resolved) ticket
    age(engine, second, 400)
    with engine.begin() as connection:
        connection.execute(update(tickets).where(tickets.c.conversation_id == second)
                           .values(resolved_at=NOW - timedelta(days=1)))
    assert count(engine, tickets, tickets.c.conversation_id == second)
    enforce(engine, seeded.trackers, WINDOWS, now=NOW)
    assert count(engine, tickets, tickets.c.conversation_id == second)


async def test_an_open_ticket_keeps_its_conversation_and_a_zero_window_keeps_for_ever(engine, seeded):
    first, _ = seeded.mine
    TicketQueue(engine).open(first, reason="request_human", detail="", priority=10, customer_id="C1")
    age(engine, first, 1000)
    age(engine, seeded.other, 1000)
    forever = RetentionWindows(transcript_days=0, ticket_days=0, event_days=0, rasa_tracker_days=0)
    assert enforce(engine, seeded.trackers, forever, now=NOW) == {}
    enforce(engine, seeded.trackers, WINDOWS, now=NOW)
    assert count(engine, messages, messages.c.conversation_id == first) == 2, "a person is still on it"
    assert count(engine, messages, messages.c.conversation_id == seeded.other) == 0


def test_the_windows_come_from_the_settings_and_bad_ones_are_refused_by_name():
    assert RetentionWindows.from_settings({"transcript_days": 90}).transcript_days == 90
    assert RetentionWindows.from_settings({}).rasa_tracker_days == 30
    with pytest.raises(SettingsError, match="privacy.event_days"):
        RetentionWindows.from_settings({"event_days": "soon"})
    with pytest.raises(SettingsError, match="privacy.ticket_days"):
        RetentionWindows.from_settings({"ticket_days": -1})


async def test_the_command_exports_erases_and_enforces(engine, seeded, tracker_url, monkeypatch, tmp_path):
    monkeypatch.setattr(privacy_command, "database_url", lambda: str(engine.url.render_as_string(hide_password=False)))
    monkeypatch.setattr(privacy_command, "settings", lambda: {"rasa": {"tracker_store_url": tracker_url},
                                                              "privacy": {"transcript_days": 1}})
    out = io.StringIO()
    target = tmp_path / "c1.json"
    assert privacy_command.main(["export", "--customer", "C1", "--out", str(target)], out) == 0
    assert len(json.loads(target.read_text(encoding="utf-8"))["messages"]) == 4
    assert privacy_command.main(["erase", "--customer", "C1"], out) == 1, "erasing asks for --yes"
    assert privacy_command.main(["erase", "--customer", "C1", "--yes"], out) == 0
    assert json.loads(out.getvalue().splitlines()[-1])["messages"] == 4
    assert privacy_command.main(["erase", "--customer", "C1", "--yes"], out) == 1, "nothing left to erase"
    age(engine, seeded.other, 3)
    assert privacy_command.main(["retention"], out) == 0
    assert json.loads(out.getvalue().splitlines()[-1])["messages"] == 2
    with engine.connect() as connection:
        actors = {row.actor for row in connection.execute(select(privacy_actions))}
    assert any(actor.startswith("command:") for actor in actors) and "retention" in actors


async def test_the_gateways_job_enforces_the_windows_in_the_background(engine, seeded):
    first, _ = seeded.mine
    age(engine, first, 200)
    job = RetentionJob(engine, seeded.trackers, WINDOWS)
    task = asyncio.create_task(job.run_forever(first_delay=0))
    try:
        for _ in range(600):
            if not count(engine, messages, messages.c.conversation_id == first):
                break
            await asyncio.sleep(0.05)
        assert count(engine, messages, messages.c.conversation_id == first) == 0
        assert not task.done(), "the job keeps running for the next round"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
