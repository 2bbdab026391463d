"""Passes customer messages to the bot and posts its replies into the conversation.

One message at a time per conversation, so replies keep their order. The
customer is told within `bot_notice_after_seconds` when the bot is slow, and
plainly when it is unavailable; a reply that arrives late is still delivered.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Dict, Set

from bot.gateway.hub import ConversationHub
from bot.gateway.rasa_client import BotUnavailable, RasaClient

logger = logging.getLogger(__name__)


class BotRelay:
    """Runs each customer message through Rasa in the background."""

    def __init__(
        self, hub: ConversationHub, rasa: RasaClient, notice_after: float, unavailable_text: str, slow_text: str
    ) -> None:
        self.hub = hub
        self.rasa = rasa
        self.notice_after = notice_after
        self.unavailable = {"code": "bot_unavailable", "text": unavailable_text}
        self.slow = {"code": "bot_slow", "text": slow_text}
        self._locks: Dict[str, asyncio.Lock] = {}
        self._tasks: Set[asyncio.Task] = set()

    def submit(self, conversation_id: str, text: str, shop_metadata: Dict[str, str]) -> asyncio.Task:
        """Schedules the bot's answer to one message; returns the task (tests await it)."""
        task = asyncio.create_task(self._answer(conversation_id, text, shop_metadata))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def drain(self) -> None:
        """Waits for every answer in progress (shutdown, tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _answer(self, conversation_id: str, text: str, shop_metadata: Dict[str, str]) -> None:
        lock = self._locks.setdefault(conversation_id, asyncio.Lock())
        try:
            async with lock:
                await self._answer_in_turn(conversation_id, text, shop_metadata)
        finally:
            if not lock.locked():
                self._locks.pop(conversation_id, None)

    async def _answer_in_turn(self, conversation_id: str, text: str, shop_metadata: Dict[str, str]) -> None:
        self.hub.set_typing(conversation_id, True)
        request = asyncio.ensure_future(self.rasa.send(conversation_id, text, shop_metadata))
        try:
            done, _ = await asyncio.wait({request}, timeout=self.notice_after)
            if not done:
                self.hub.set_notice(conversation_id, self.slow)
            replies = await request
        except BotUnavailable as error:
            logger.warning("conversation %s: %s", conversation_id, error)
            self.hub.set_typing(conversation_id, False)
            self.hub.set_notice(conversation_id, self.unavailable)
            return
        self.hub.set_typing(conversation_id, False)
        if not replies:
            # our rules answer every message; silence means a custom action failed
            logger.warning("conversation %s: Rasa returned no reply (is the action server running?)", conversation_id)
            self.hub.set_notice(conversation_id, self.unavailable)
            return
        self.hub.set_notice(conversation_id, None)
        for reply in replies:
            await self.hub.post(conversation_id, "bot", reply.text, extra=reply.extra())
