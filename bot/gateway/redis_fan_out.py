"""FanOut across gateway replicas: Redis pub/sub, one channel per conversation.

A frame published here reaches this gateway's own subscribers at once, as with LocalFanOut, and is published
on the conversation's channel for the other gateways; each gateway subscribes to the channels of the
conversations someone is connected to through it (a customer's socket, an agent's ticket feed, the consoles'
queue channel) and delivers what other gateways published to its subscribers. Frames go to Redis in order,
several in one round trip when many are waiting.

When Redis restarts, the frames published meanwhile are lost on the way between gateways; once it is back,
every channel is subscribed again and each conversation's stored messages since the last one delivered here
are delivered again (`catch_up`; clients drop ids they have).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

import orjson

from bot.gateway.fan_out import LocalFanOut, Subscriber

logger = logging.getLogger(__name__)

CHANNEL_PREFIX = "shop:conversation:"
RECONNECT_SECONDS = 1.0
# how long one read of the pub/sub connection waits when nothing is published (then it reads again)
IDLE_READ_SECONDS = 4.0
# the stored messages of a conversation after a seq, as message frames
CatchUp = Callable[[str, int], Awaitable[List[Dict[str, Any]]]]


class RedisFanOut:
    """FanOut through Redis pub/sub (redis.asyncio client)."""

    def __init__(self, redis: Any, catch_up: Optional[CatchUp] = None) -> None:
        self.redis = redis
        self.catch_up = catch_up
        # every published frame starts with its gateway's origin, so a gateway drops its own frames, which
        # Redis sends back to it, without reading them
        self.origin = uuid.uuid4().hex.encode("ascii")
        self.local = LocalFanOut()
        self._outgoing: List[Tuple[str, bytes]] = []
        self._wake_writer = asyncio.Event()
        self._pubsub: Any = None
        # the channels the current pub/sub connection is subscribed to, and the task bringing them up to date
        self._subscribed: set = set()
        self._follower: Optional[asyncio.Future] = None
        # the seq of the newest message frame delivered here, per conversation (what a catch-up starts after)
        self._last_seq: Dict[str, int] = {}
        # conversations long-poll clients wait on here, with how many wait
        self._polling: Dict[str, int] = {}
        self._tasks: List[asyncio.Task] = []

    async def start(self) -> None:
        """Starts the writer and the listener (call from the running event loop)."""
        self._tasks = [asyncio.create_task(self._write_forever()), asyncio.create_task(self._listen_forever())]

    async def close(self) -> None:
        """Stops both and closes the pub/sub connection."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._pubsub is not None:
            await self._pubsub.close()

    # -- FanOut ------------------------------------------------------------------------------------
    def publish(self, conversation_id: str, frame: Dict[str, Any]) -> None:
        self._deliver(conversation_id, frame)
        self._outgoing.append((CHANNEL_PREFIX + conversation_id, self.origin + orjson.dumps(frame)))
        self._wake_writer.set()

    def subscribe(self, conversation_id: str, subscriber: Subscriber) -> None:
        first = not self.local.has_subscribers(conversation_id)
        self.local.subscribe(conversation_id, subscriber)
        if first:
            self._following_changed()

    def unsubscribe(self, conversation_id: str, subscriber: Subscriber) -> None:
        self.local.unsubscribe(conversation_id, subscriber)
        if not self.local.has_subscribers(conversation_id):
            self._last_seq.pop(conversation_id, None)
            self._following_changed()

    def has_subscribers(self, conversation_id: str) -> bool:
        return self.local.has_subscribers(conversation_id)

    def followed(self) -> set:
        return self.local.followed()

    async def wait_for_change(self, conversation_id: str, timeout: float) -> None:
        # long-poll clients wait here even when nobody has a socket here: follow the channel meanwhile
        self._polling[conversation_id] = self._polling.get(conversation_id, 0) + 1
        self._following_changed()
        try:
            await self.local.wait_for_change(conversation_id, timeout)
        finally:
            left = self._polling.pop(conversation_id) - 1
            if left:
                self._polling[conversation_id] = left
            else:
                if not self.local.has_subscribers(conversation_id):
                    # nobody follows it here any more: nothing to catch up after a Redis restart
                    self._last_seq.pop(conversation_id, None)
                self._following_changed()

    # -- inside --------------------------------------------------------------------------------------
    def _deliver(self, conversation_id: str, frame: Dict[str, Any]) -> None:
        if frame.get("type") == "message" and isinstance(frame.get("seq"), int):
            self._last_seq[conversation_id] = max(self._last_seq.get(conversation_id, 0), frame["seq"])
        self.local.publish(conversation_id, frame)

    def _wanted_channels(self) -> set:
        followed = self.local.followed() | set(self._polling)
        return {CHANNEL_PREFIX + conversation_id for conversation_id in followed}

    async def _write_forever(self) -> None:
        while True:
            await self._wake_writer.wait()
            self._wake_writer.clear()
            batch, self._outgoing = self._outgoing, []
            if not batch:
                continue
            try:
                if len(batch) == 1:
                    await self.redis.publish(*batch[0])
                else:
                    async with self.redis.pipeline(transaction=False) as pipe:
                        for channel, data in batch:
                            pipe.publish(channel, data)
                        await pipe.execute()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - Redis restarting: the listener catches up once it is back
                logger.warning("%d frames not shared with the other gateways: Redis is unavailable", len(batch))

    async def _listen_forever(self) -> None:
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - reconnect below
                logger.warning("lost Redis pub/sub; reconnecting in %.0f s", RECONNECT_SECONDS)
            pubsub, self._pubsub, self._subscribed = self._pubsub, None, set()
            if pubsub is not None:
                try:
                    await pubsub.close()
                except Exception:  # noqa: BLE001 - a dead connection may fail to close
                    pass
            await asyncio.sleep(RECONNECT_SECONDS)

    async def _listen(self) -> None:
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        # a keep-alive channel, so the connection exists (and a lost one is noticed) with nothing else followed
        await pubsub.subscribe(CHANNEL_PREFIX + "-")
        self._pubsub = pubsub
        await self._follow()
        if self._last_seq:
            # back after an outage: what the followed conversations may have missed meanwhile
            asyncio.create_task(self._catch_up_all())
        # not pubsub.listen(): it reads under the client's socket timeout, so an idle minute would drop the
        # connection every few seconds (and frames published during each reconnect). A read with its own
        # timeout returns None when idle, and every read first pings Redis once the health-check interval passed
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=IDLE_READ_SECONDS)
            if message is not None:
                self._received(message)

    def _following_changed(self) -> None:
        # before the listener runs (the app being built) there is nothing to update: it subscribes at start
        if self._pubsub is None:
            return
        if self._follower is None or self._follower.done():
            self._follower = asyncio.ensure_future(self._follow())

    async def _follow(self) -> None:
        """Subscribes to the channels of the conversations followed here and leaves the others (only sends
        the commands: their confirmations arrive through the listener, which skips them)."""
        while self._pubsub is not None:
            pubsub = self._pubsub
            wanted = self._wanted_channels()
            added, removed = wanted - self._subscribed, self._subscribed - wanted
            if not added and not removed:
                return
            try:
                if added:
                    await pubsub.subscribe(*added)
                if removed:
                    await pubsub.unsubscribe(*removed)
            except Exception:  # noqa: BLE001 - the listener notices the lost connection and starts again
                return
            if self._pubsub is not pubsub:
                return  # the connection was replaced meanwhile: the new one subscribes from scratch
            self._subscribed = (self._subscribed | added) - removed

    def _received(self, message: Dict[str, Any]) -> None:
        data = message.get("data")
        if message.get("type") != "message" or not isinstance(data, bytes) or data.startswith(self.origin):
            return
        try:
            frame = orjson.loads(data[len(self.origin):])
        except ValueError:
            return
        channel = message["channel"]
        channel = channel.decode("utf-8") if isinstance(channel, bytes) else channel
        self._deliver(channel[len(CHANNEL_PREFIX):], frame)

    async def _catch_up_all(self) -> None:
        """After Redis came back: the stored messages each followed conversation may have missed."""
        if self.catch_up is None:
            return
        for conversation_id, seq in list(self._last_seq.items()):
            try:
                for frame in await self.catch_up(conversation_id, seq):
                    self._deliver(conversation_id, frame)
            except Exception:  # noqa: BLE001 - the database may be restarting too; clients refresh on reconnect
                logger.warning("could not catch up conversation %s after Redis came back", conversation_id)
