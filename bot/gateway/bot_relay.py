"""Passes customer messages to the bot and posts its replies into the conversation.

One message at a time per conversation, so replies keep their order. The
customer is told within `bot_notice_after_seconds` when the bot is slow, and
plainly when it is unavailable; a reply that arrives late is still delivered.
A message the bot could not answer stays pending: it is tried again after
`retry_seconds` (by whichever gateway looks first, pending.py), and handed to a
person, with a word to the customer, once it has waited `give_up_seconds`.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Dict, List, Optional, Set

from sqlalchemy.exc import SQLAlchemyError

from bot.gateway.hub import ConversationHub
from bot.gateway.rasa_client import BotReply, BotUnavailable, RasaClient
from bot.gateway.store import HANDED_OVER, Message
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
        retry_seconds: float = 5.0,
        give_up_seconds: float = 90.0,
    ) -> None:
        self.hub = hub
        self.rasa = rasa
        self.notice_after = notice_after
        self.typing_after = min(typing_after, notice_after)
        self.unavailable = {"code": "bot_unavailable", "text": unavailable_text}
        self.slow = {"code": "bot_slow", "text": slow_text}
        self.retry_seconds = retry_seconds
        self.give_up_seconds = give_up_seconds
        self._locks: Dict[str, asyncio.Lock] = {}
        self._tasks: Set[asyncio.Task] = set()
        # the pending messages this gateway is answering: their leases are renewed while they wait here
        self._holding: Dict[str, Message] = {}
        # where the actions' handoff requests go, and the event log
        self.handoff = handoff
        self.recorder = recorder

    def submit(self, conversation_id: str, text: str, shop_metadata: Dict[str, str], message: Message) -> asyncio.Task:
        """Schedules the bot's answer to one stored customer message (`text`: what the bot is sent)."""
        self._holding[message.id] = message
        task = asyncio.create_task(self._answer(conversation_id, text, shop_metadata, message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda _task: self._holding.pop(message.id, None))
        return task

    def holding(self) -> List[str]:
        """Ids of the pending messages this gateway is answering now."""
        return list(self._holding)

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
            await self._unavailable(conversation_id, message, shop_metadata)
            return
        self.hub.set_typing(conversation_id, False)
        replies = answer.replies
        if not replies:
            # our rules answer every message; silence means a custom action failed
            logger.warning("conversation %s: Rasa returned no reply (is the action server running?)", conversation_id)
            await self._unavailable(conversation_id, message, shop_metadata)
            return
        self.hub.set_notice(conversation_id, None)
        self.hub.set_offered_alternatives(conversation_id, False)
        customer_id = shop_metadata.get("customer_id")
        reading = with_entries_shown(answer.reading, entries_shown(replies)) if answer.reading else None
        shown = [
            (reply.text, reply.extra()) for reply in replies
            if not (reply.handoff or reply.analytics) and (reply.text or reply.buttons or reply.image)
        ]
        handoff = next((_escalation(reply.handoff) for reply in replies if reply.handoff and self.handoff), None)
        # the reading is stored with the customer's message before anything can escalate, so the agent's
        # transcript is the stored history; a request for a person is kept with it until its ticket is open
        try:
            stored = await self.hub.post_bot_turn(conversation_id, message, reading, shown,
                                                  handoff.to_json() if handoff else None)
        except SQLAlchemyError as error:
            # the answer could not be stored (the database is restarting): the message stays pending and is
            # asked again once its lease runs out; the customer hears why it takes longer
            logger.warning("conversation %s: the bot's answer could not be stored (%s)", conversation_id,
                           type(error).__name__)
            self.hub.set_notice(conversation_id, self.unavailable)
            return
        if stored is None:
            logger.info("conversation %s: message %s was answered already; this answer is dropped",
                        conversation_id, message.id)
            return
        if self.recorder:
            # logged before the bot's turn, so the log reads question, then answer or escalation
            await self.recorder.customer_message(conversation_id, message.text, "bot", reading, customer_id)
        reported = False
        for reply in replies:
            if reply.handoff and self.handoff and handoff:
                await self.handoff.escalate(conversation_id, handoff)
                await self.hub.finish(message, HANDED_OVER)
                handoff, reported = None, True
            elif reply.analytics:
                if self.recorder:
                    await self.recorder.bot_turn(conversation_id, reply.analytics, customer_id)
                reported = True
        if not reported and self.recorder:
            await self.recorder.bot_turn(conversation_id, None, customer_id)  # a response from domain.yml

    async def _unavailable(self, conversation_id: str, message: Message, shop_metadata: Dict[str, str]) -> None:
        self.hub.set_notice(conversation_id, self.unavailable)
        waited = (datetime.now(timezone.utc) - message.created_at).total_seconds()
        if waited >= self.give_up_seconds and self.handoff:
            # the bot has been down for as long as a customer should wait: a person takes the message
            await self.hub.post(conversation_id, "bot", GIVE_UP_TEXT)
            decision = self.handoff.rules.escalate("bot_unavailable", "智能客服暂时无法回复")
            await self.handoff.escalate(conversation_id, decision)
            await self.hub.finish(message, HANDED_OVER)
            return
        # tried again later, by this gateway or another (pending.py)
        await self.hub.release(message, self.retry_seconds)
        if message.attempts:
            return  # logged and offered at the first try
        if self.recorder:
            customer_id = shop_metadata.get("customer_id")
            await self.recorder.customer_message(conversation_id, message.text, "bot", customer_id=customer_id)
            await self.recorder.record(
                conversation_id, "fallback", customer_id=customer_id, detail={"cause": "bot_unavailable"}
            )
        if self.handoff and not (await self.hub.current_live(conversation_id)).offered_alternatives:
            # once per outage: a person, or a message for later, instead of waiting for the bot
            self.hub.set_offered_alternatives(conversation_id, True)
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


GIVE_UP_TEXT = "抱歉，智能客服一直无法回复，您的问题已转给人工客服处理。"


def _escalation(request: Dict) -> Escalation:
    """An action's handoff request, checked: unknown reasons become a plain request for a person."""
    reason = request.get("reason") if request.get("reason") in REASONS else "request_human"
    try:
        priority = int(request.get("priority", 10))
    except (TypeError, ValueError):
        priority = 10
    return Escalation(reason, str(request.get("detail") or ""), priority)
