"""Live states shared through this machine's Redis (bot/gateway/live_state.py, hub.py): a notice reaches a client
that connects to another gateway; the typing dots go to the clients live but are never written to Redis, where a
slow turn would write them twice at the busiest moments."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis
import redis.asyncio as redis_asyncio

from bot.gateway.hub import ConversationHub
from bot.gateway.live_state import RedisLiveStates
from bot.gateway.store import ConversationStore
from core.db import create_database_engine, upgrade_schema

REDIS = "redis://127.0.0.1:6379/0"


class _Writes:
    """RedisLiveStates that counts its writes."""

    def __init__(self, states: RedisLiveStates) -> None:
        self.states, self.puts = states, 0

    async def get(self, conversation_id):  # noqa: ANN001, ANN201
        return await self.states.get(conversation_id)

    async def put(self, conversation_id, state):  # noqa: ANN001, ANN201
        self.puts += 1
        await self.states.put(conversation_id, state)


@pytest.fixture
async def gateways(tmp_path):
    """Two hubs on one database and this machine's Redis, as two gateway replicas, with a prefix of their own."""
    try:
        redis.Redis.from_url(REDIS).ping()
    except redis.ConnectionError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    engine = create_database_engine(f"sqlite:///{tmp_path / 'shop.db'}")
    upgrade_schema(engine)
    client = redis_asyncio.from_url(REDIS)
    prefix = f"test:live:{uuid.uuid4().hex}:"
    hubs = [ConversationHub(ConversationStore(engine), live_states=_Writes(RedisLiveStates(client, prefix)))
            for _ in range(2)]
    yield hubs, prefix
    for hub in hubs:
        hub.close()
    keys = redis.Redis.from_url(REDIS).keys(prefix + "*")
    if keys:
        redis.Redis.from_url(REDIS).delete(*keys)
    await client.close()
    engine.dispose()


async def _settled(hub: ConversationHub) -> None:
    for _ in range(100):
        if not hub._unsaved:  # noqa: SLF001 - the background writer's queue
            return
        await asyncio.sleep(0.01)
    raise AssertionError("live states not written")


async def test_the_typing_dots_reach_the_clients_and_are_not_written_to_redis(gateways):
    (here, _), prefix = gateways
    frames = asyncio.Queue()
    here.subscribe("c1", frames)
    here.set_typing("c1", True)
    here.set_typing("c1", False)
    await _settled(here)
    assert [frames.get_nowait(), frames.get_nowait()] == [{"type": "typing", "on": on} for on in (True, False)]
    assert here.live_states.puts == 0
    assert redis.Redis.from_url(REDIS).exists(prefix + "c1") == 0


async def test_a_notice_is_shared_without_the_dots_and_the_answering_gateway_still_shows_them(gateways):
    (here, there), prefix = gateways
    here.set_typing("c2", True)
    here.set_notice("c2", {"code": "bot_slow", "text": "稍等"})
    await _settled(here)
    assert here.live_states.puts == 1
    elsewhere = await there.current_live("c2")
    assert elsewhere.notice == {"code": "bot_slow", "text": "稍等"} and elsewhere.typing is False
    assert (await here.current_live("c2")).typing is True
    here.set_typing("c2", False)
    here.set_notice("c2", None)
    await _settled(here)
    assert here.live_states.puts == 2
    assert redis.Redis.from_url(REDIS).exists(prefix + "c2") == 0
    assert (await here.current_live("c2")).typing is False
