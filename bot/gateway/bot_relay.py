"""Passes customer messages to the bot and posts its replies into the conversation.

One message at a time per conversation, so replies keep their order. The
customer is told within `bot_notice_after_seconds` when the bot is slow, and
plainly when it is unavailable; a reply that arrives late is still delivered.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Dict, List, Optional, Set

from bot.gateway.hub import ConversationHub
from bot.gateway.rasa_client import BotReply, BotUnavailable, RasaClient
from bot.gateway.store import Message
from core.reading import faq_key_of_payload, with_entries_shown
from handoff.escalation import REASONS, Escalation

if TYPE_CHECKING:
    from bot.gateway.event_recorder import EventRecorder
    from handoff.services import HandoffService

logger = logging.getLogger(__name__)


class BotRelay:
    """Runs each customer message through Rasa in the background."""

    def __init__(
        self,
        hub: ConversationHub,
        rasa: RasaClient,
        notice_after: float,
        unavailable_text: str,
        slow_text: str,
        *,
        typing_after: float = 0.0,
        handoff: Optional[HandoffService] = None,
        recorder: Optional[EventRecorder] = None,
    ) -> None:
        self.hub = hub
        self.rasa = rasa
        self.notice_after = notice_after
        self.typing_after = min(typing_after, notice_after)
        self.unavailable = {"code": "bot_unavailable", "text": unavailable_text}
        self.slow = {"code": "bot_slow", "text": slow_text}
        self._locks: Dict[str, asyncio.Lock] = {}
        self._tasks: Set[asyncio.Task] = set()
        # where the actions' handoff requests go, and the event log
        self.handoff = handoff
        self.recorder = recorder

    def submit(self, conversation_id: str, text: str, shop_metadata: Dict[str, str], message: Message) -> asyncio.Task:
        """Schedules the bot's answer to one stored customer message (`text`: what the bot is sent)."""
        task = asyncio.create_task(self._answer(conversation_id, text, shop_metadata, message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def drain(self) -> None:
        """Waits for every answer in progress (shutdown, tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _answer(self, conversation_id: str, text: str, shop_metadata: Dict[str, str], message: Message) -> None:
        lock = self._locks.setdefault(conversation_id, asyncio.Lock())
        try:
            async with lock:
                await self._answer_in_turn(conversation_id, text, shop_metadata, message)
        finally:
            if not lock.locked():
                self._locks.pop(conversation_id, None)

    async def _answer_in_turn(
        self, conversation_id: str, text: str, shop_metadata: Dict[str, str], message: Message
    ) -> None:
        request = asyncio.ensure_future(self.rasa.send(conversation_id, text, shop_metadata))
        try:
            # the dots only when the answer is not there at once, the notice when it is slow
            done, _ = await asyncio.wait({request}, timeout=self.typing_after)
            if not done:
                self.hub.set_typing(conversation_id, True)
                done, _ = await asyncio.wait({request}, timeout=self.notice_after - self.typing_after)
            if not done:
                self.hub.set_notice(conversation_id, self.slow)
            answer = await request
        except BotUnavailable as error:
            logger.warning("conversation %s: %s", conversation_id, error)
            self.hub.set_typing(conversation_id, False)
            await self._unavailable(conversation_id, message.text, shop_metadata)
            return
        self.hub.set_typing(conversation_id, False)
        replies = answer.replies
        if not replies:
            # our rules answer every message; silence means a custom action failed
            logger.warning("conversation %s: Rasa returned no reply (is the action server running?)", conversation_id)
            await self._unavailable(conversation_id, message.text, shop_metadata)
            return
        self.hub.set_notice(conversation_id, None)
        self.hub.live(conversation_id).offered_alternatives = False
        customer_id = shop_metadata.get("customer_id")
        reading = with_entries_shown(answer.reading, entries_shown(replies)) if answer.reading else None
        shown = [
            (reply.text, reply.extra()) for reply in replies
            if not (reply.handoff or reply.analytics) and (reply.text or reply.buttons or reply.image)
        ]
        # the reading is stored with the customer's message before anything can escalate, so the
        # agent's transcript is the stored history
        await self.hub.post_bot_turn(conversation_id, message, reading, shown)
        if self.recorder:
            # logged before the bot's turn, so the log reads question, then answer or escalation
            await self.recorder.customer_message(conversation_id, message.text, "bot", reading, customer_id)
        reported = False
        for reply in replies:
            if reply.handoff and self.handoff:
                await self.handoff.escalate(conversation_id, _escalation(reply.handoff))
                reported = True
            elif reply.analytics:
                if self.recorder:
                    await self.recorder.bot_turn(conversation_id, reply.analytics, customer_id)
                reported = True
        if not reported and self.recorder:
            await self.recorder.bot_turn(conversation_id, None, customer_id)  # a response from domain.yml

    async def _unavailable(self, conversation_id: str, text: str, shop_metadata: Dict[str, str]) -> None:
        self.hub.set_notice(conversation_id, self.unavailable)
        if self.recorder:
            customer_id = shop_metadata.get("customer_id")
            await self.recorder.customer_message(conversation_id, text, "bot", customer_id=customer_id)
            await self.recorder.record(
                conversation_id, "fallback", customer_id=customer_id, detail={"cause": "bot_unavailable"}
            )
        live = self.hub.live(conversation_id)
        if self.handoff and not live.offered_alternatives:
            # once per outage: a person, or a message for later, instead of waiting for the bot
            live.offered_alternatives = True
            await self.hub.post(
                conversation_id, "bot", "智能客服暂时无法回复。您可以转人工客服，或者留言给我们：",
                extra={"buttons": [
                    {"title": "转人工", "payload": "/handoff"}, {"title": "留言", "payload": "/leave_message"},
                ]},
            )


def entries_shown(replies: List[BotReply]) -> List[str]:
    """Knowledge-base entries the bot's answer showed: the one it answered from first, then those it offered."""
    answered = [
        str(reply.analytics["kb_key"]) for reply in replies
        if reply.analytics and reply.analytics.get("event") == "bot_answer" and reply.analytics.get("kb_key")
    ]
    offered = [key for reply in replies for key in (faq_key_of_payload(b.get("payload")) for b in reply.buttons) if key]
    return answered + offered


def _escalation(request: Dict) -> Escalation:
    """An action's handoff request, checked: unknown reasons become a plain request for a person."""
    reason = request.get("reason") if request.get("reason") in REASONS else "request_human"
    try:
        priority = int(request.get("priority", 10))
    except (TypeError, ValueError):
        priority = 10
    return Escalation(reason, str(request.get("detail") or ""), priority)
