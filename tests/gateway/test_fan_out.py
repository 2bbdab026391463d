"""The local fan-out: every subscriber of a conversation gets its frames, long-poll waiters wake, and
nothing is kept for a conversation nobody follows."""

from __future__ import annotations

import asyncio

from bot.gateway.fan_out import LocalFanOut


async def test_frames_reach_every_subscriber_of_that_conversation_only():
    fan_out = LocalFanOut()
    first, second, elsewhere = asyncio.Queue(), asyncio.Queue(), asyncio.Queue()
    fan_out.subscribe("a", first)
    fan_out.subscribe("a", second)
    fan_out.subscribe("b", elsewhere)
    fan_out.publish("a", {"type": "typing", "on": True})
    assert first.get_nowait() == second.get_nowait() == {"type": "typing", "on": True}
    assert elsewhere.empty()
    fan_out.unsubscribe("a", first)
    fan_out.publish("a", {"type": "typing", "on": False})
    assert first.empty() and second.get_nowait()["on"] is False


async def test_a_long_poll_waiter_wakes_on_a_frame_and_nothing_is_left_behind():
    fan_out = LocalFanOut()
    waiter = asyncio.ensure_future(fan_out.wait_for_change("a", timeout=5))
    await asyncio.sleep(0.01)
    fan_out.publish("a", {"type": "message"})
    await asyncio.wait_for(waiter, 1)
    await fan_out.wait_for_change("b", timeout=0.01)  # times out
    queue = asyncio.Queue()
    fan_out.subscribe("c", queue)
    fan_out.unsubscribe("c", queue)
    assert not fan_out.has_subscribers("c")
    assert fan_out._subscribers == {} and fan_out._changed == {} and fan_out._waiting == {}
