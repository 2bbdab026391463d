"""The gateway's side of the human handoff: opening tickets, telling the customer, routing to agents,
handing back to the bot, ratings and left messages.

The gateway, not Rasa, decides where a customer's message goes: while the
conversation has an open ticket it goes to the agent and never to the bot
(Rasa's tracker is not paused; it simply does not hear those messages), so the
bot cannot answer over an agent, and this works even while Rasa is down.
Every ticket is committed before the customer is told anything.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timezone
from typing import Any, Callable, Dict, List, Optional

from bot.gateway.hub import ConversationHub
from handoff.accounts import Agent, AgentDirectory
from handoff.business_hours import BusinessHours
from handoff.contact import normalise_mobile
from handoff.errors import HandoffRefused
from handoff.escalation import Escalation, Rules
from handoff.queue import Ticket, TicketError, TicketQueue
from handoff.schema import ASSIGNED, LEFT_MESSAGE, RESOLVED, WAITING
from handoff.transcript import transcript_from_events

logger = logging.getLogger(__name__)

HANDOFF_PAYLOAD = "/handoff"
LEAVE_MESSAGE_PAYLOAD = "/leave_message"
GATEWAY_PAYLOADS = (HANDOFF_PAYLOAD, LEAVE_MESSAGE_PAYLOAD)
RATING_WINDOW_SECONDS = 600
LEAVE_MESSAGE_LIMIT = 2000
COMMENT_LIMIT = 500


def _mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:]


class HandoffDesk:
    """Tickets and the conversations they belong to; all SQL goes through the hub's worker thread."""

    def __init__(
        self,
        hub: ConversationHub,
        queue: TicketQueue,
        directory: AgentDirectory,
        rules: Rules,
        hours: BusinessHours,
        *,
        online_window_seconds: float = 60,
        default_handling_seconds: float = 480,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ) -> None:
        self.hub = hub
        self.queue = queue
        self.directory = directory
        self.rules = rules
        self.hours = hours
        self.online_window = online_window_seconds
        self.default_handling = default_handling_seconds
        self.clock = clock
        # set by the app: where the bot's readings of earlier messages come from, and the event log
        self.rasa: Optional[Any] = None
        self.recorder: Optional[Any] = None
        # called after every queue change (the agent console subscribes)
        self.on_queue_change: List[Callable[[], Any]] = []

    async def _sql(self, function: Callable, *args: Any, **kwargs: Any) -> Any:
        return await self.hub.run_blocking(function, *args, **kwargs)

    # -- state ----------------------------------------------------------------------------------
    async def open_ticket(self, conversation_id: str) -> Optional[Ticket]:
        """The conversation's waiting or assigned ticket."""
        return await self._sql(self.queue.open_ticket_for, conversation_id)

    async def agents_online(self) -> int:
        return await self._sql(self.directory.online_count, self.online_window)

    async def _pace(self) -> float:
        """Seconds per waiting ticket: measured handling time (or the default) spread over the agents online."""
        measured = await self._sql(self.queue.average_handling_seconds)
        handling = measured if measured is not None else self.default_handling
        return handling / max(1, await self.agents_online())

    async def wait_estimate(self, position: int, pace: Optional[float] = None) -> int:
        """Seconds until a person answers the ticket at `position`."""
        pace = await self._pace() if pace is None else pace
        return int(math.ceil(pace * position))

    async def positions(self) -> Dict[int, int]:
        """Ticket id -> place in the queue (1 = next) for waiting live tickets."""
        waiting = await self._sql(self.queue.waiting)
        return {ticket.id: number for number, ticket in enumerate(waiting, start=1)}

    async def state_frames(self, conversation_id: str) -> List[Dict[str, Any]]:
        """What a (re)connecting client must know: handoff state, queue place, a pending rating or message form."""
        frames: List[Dict[str, Any]] = []
        ticket = await self.open_ticket(conversation_id)
        if ticket:
            frames.append(await self._handoff_frame(ticket))
            if ticket.status == WAITING:
                frames.append(await self._queue_frame(ticket))
            return frames
        latest = await self._sql(self.queue.latest_for, conversation_id)
        if (
            latest and latest.status == RESOLVED and latest.rating is None and latest.kind != LEFT_MESSAGE
            and latest.resolved_at and (self.clock() - latest.resolved_at).total_seconds() < RATING_WINDOW_SECONDS
        ):
            frames.append({"type": "rating_request", "ticket_id": latest.id})
        pending = self.hub.live(conversation_id).leave_message_request
        if pending:
            frames.append(pending)
        return frames

    async def _handoff_frame(self, ticket: Ticket, state: Optional[str] = None) -> Dict[str, Any]:
        agent = None
        if ticket.status == ASSIGNED and ticket.agent_id:
            found = await self._sql(self.directory.by_id, ticket.agent_id)
            agent = {"name": found.name} if found else None
        return {"type": "handoff", "state": state or ticket.status, "ticket_id": ticket.id, "agent": agent}

    async def _queue_frame(
        self, ticket: Ticket, position: Optional[int] = None, pace: Optional[float] = None
    ) -> Dict[str, Any]:
        if position is None:
            position = (await self.positions()).get(ticket.id, 1)
        return {"type": "queue", "position": position, "eta_seconds": await self.wait_estimate(position, pace)}

    async def _queue_changed(self) -> None:
        """Tells every waiting customer their new place, then the consoles."""
        waiting = await self._sql(self.queue.waiting)
        pace = await self._pace()
        for position, ticket in enumerate(waiting, start=1):
            if ticket.kind != LEFT_MESSAGE:
                self.hub.push(ticket.conversation_id, await self._queue_frame(ticket, position, pace))
        for listener in self.on_queue_change:
            await listener()

    async def _record(self, conversation_id: str, kind: str, **fields: Any) -> None:
        if self.recorder:
            await self.recorder.record(conversation_id, kind, **fields)

    # -- escalation -----------------------------------------------------------------------------
    async def people_available(self) -> Optional[str]:
        """None when a person can take over now; otherwise why not, for the customer."""
        now = self.clock()
        if not self.hours.is_open(now):
            return (
                f"现在不是人工客服的工作时间，人工客服会在{self.hours.describe_next_opening(now)}处理。"
            )
        if await self.agents_online() == 0:
            return "现在暂时没有人工客服在线。"
        return None

    async def escalate(
        self,
        conversation_id: str,
        decision: Escalation,
        bot_transcript: Optional[List[Dict[str, Any]]] = None,
    ) -> Optional[Ticket]:
        """Opens a ticket (committed first), then tells the customer honestly what happens next."""
        existing = await self.open_ticket(conversation_id)
        if existing:
            await self._tell_waiting(existing, created=False)
            return existing
        unavailable = await self.people_available()
        if unavailable:
            await self.request_left_message(conversation_id, unavailable + "请留下您的问题和手机号，我们会尽快联系您。")
            return None
        metadata = await self.hub.shop_metadata(conversation_id) or {}
        if bot_transcript is None and self.rasa is not None:
            # escalated by the gateway itself: ask Rasa what it understood of the earlier messages
            bot_transcript = transcript_from_events(await self.rasa.tracker_events(conversation_id))
        transcript = await self._transcript(conversation_id, bot_transcript or [])
        ticket, created = await self._sql(
            self.queue.open, conversation_id, reason=decision.reason, detail=decision.detail,
            priority=decision.priority, customer_id=metadata.get("customer_id"), tier=metadata.get("tier"),
            transcript=transcript,
        )
        logger.info(
            "conversation %s: ticket %s (%s: %s)", conversation_id, ticket.id, decision.reason, decision.detail
        )
        if created:
            await self._record(
                conversation_id, "escalation", reason=decision.reason, ticket_id=ticket.id,
                detail={"detail": decision.detail, "priority": decision.priority},
            )
        await self._tell_waiting(ticket, created=created)
        await self._queue_changed()
        return ticket

    async def _tell_waiting(self, ticket: Ticket, created: bool) -> None:
        if ticket.status == ASSIGNED:
            text = "人工客服正在为您服务，请直接发送您的问题。"
        else:
            position = (await self.positions()).get(ticket.id, 1)
            minutes = max(1, math.ceil(await self.wait_estimate(position) / 60))
            ahead = "您是下一位" if position == 1 else f"您前面还有 {position - 1} 位"
            text = (
                f"{'已为您转接人工客服' if created else '您已在排队中'}，{ahead}，预计等待约 {minutes} 分钟。"
                "等待期间可以继续描述您的问题，客服接入后会看到全部对话，不用重复。"
            )
        await self.hub.post(ticket.conversation_id, "bot", text)
        self.hub.push(ticket.conversation_id, await self._handoff_frame(ticket))
        if ticket.status == WAITING:
            self.hub.push(ticket.conversation_id, await self._queue_frame(ticket))

    async def _transcript(self, conversation_id: str, bot_lines: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        """The stored conversation, each customer message with the bot's reading where the bot saw it."""
        readings = [line.get("reading") for line in bot_lines if line.get("sender") == "customer"]
        bot_texts = [line.get("text") for line in bot_lines if line.get("sender") == "customer"]
        messages = await self.hub.history(conversation_id)
        lines = []
        cursor = 0
        for message in messages:
            line = message.to_frame()
            line.pop("type", None)
            if message.sender == "customer":
                # match in order: Rasa saw "／" where the customer typed a leading "/"
                for index in range(cursor, len(bot_texts)):
                    seen = (bot_texts[index] or "").replace("／", "/", 1)
                    if seen in (message.text, message.payload):
                        line["reading"] = readings[index]
                        cursor = index + 1
                        break
            lines.append(line)
        return lines

    # -- customer actions -------------------------------------------------------------------------
    async def cancel(self, conversation_id: str) -> None:
        """The customer stops waiting and goes back to the bot."""
        ticket = await self._sql(self.queue.cancel, conversation_id)
        if ticket is None:
            raise HandoffRefused("no_ticket")
        await self.hub.post(conversation_id, "bot", "已为您取消排队，小云继续为您服务。还有什么可以帮您？")
        self.hub.push(conversation_id, {"type": "handoff", "state": "cancelled", "ticket_id": ticket.id, "agent": None})
        await self._record(conversation_id, "abandoned", ticket_id=ticket.id, detail={"cause": "cancelled"})
        await self._queue_changed()

    async def rate(self, conversation_id: str, ticket_id: Any, score: Any, comment: Any) -> None:
        """Stores a 1-5 rating (and an optional comment) of a resolved ticket."""
        valid_score = isinstance(score, int) and not isinstance(score, bool) and 1 <= score <= 5
        if not valid_score or not isinstance(ticket_id, int):
            raise HandoffRefused("bad_rating")
        comment = comment.strip()[:COMMENT_LIMIT] if isinstance(comment, str) else ""
        try:
            rated = await self._sql(self.queue.rate, ticket_id, conversation_id, score, comment)
        except TicketError:
            raise HandoffRefused("no_ticket") from None
        agent = await self._sql(self.directory.by_id, rated.agent_id) if rated.agent_id else None
        await self._record(
            conversation_id, "rating", ticket_id=ticket_id, score=score, text=comment or None,
            agent=agent.name if agent else None,
        )
        await self.hub.post(conversation_id, "bot", "感谢您的评价！还有其他问题可以随时问小云。")

    async def request_left_message(self, conversation_id: str, text: str) -> None:
        """Asks the customer to leave a message and a mobile number for the next shift."""
        frame = {"type": "leave_message_request", "text": text}
        self.hub.live(conversation_id).leave_message_request = frame
        await self.hub.post(conversation_id, "bot", text)
        self.hub.push(conversation_id, frame)

    async def leave_message(self, conversation_id: str, text: Any, phone: Any) -> Ticket:
        """A left message becomes a ticket for the next shift; the customer is told when to expect an answer."""
        if not isinstance(text, str) or not text.strip():
            raise HandoffRefused("empty")
        if len(text) > LEAVE_MESSAGE_LIMIT:
            raise HandoffRefused("too_long", limit=LEAVE_MESSAGE_LIMIT)
        mobile = normalise_mobile(phone if isinstance(phone, str) else "")
        if mobile is None:
            raise HandoffRefused("bad_phone")
        metadata = await self.hub.shop_metadata(conversation_id) or {}
        await self.hub.post(conversation_id, "customer", f"【留言】{text.strip()}\n联系电话：{mobile}")
        ticket, _ = await self._sql(
            self.queue.open, conversation_id, reason="left_message", detail=f"留言，回电 {mobile}",
            priority=self.rules.priorities["left_message"], customer_id=metadata.get("customer_id"),
            tier=metadata.get("tier"), transcript=await self._transcript(conversation_id, []),
            kind=LEFT_MESSAGE, contact_phone=mobile,
        )
        self.hub.live(conversation_id).leave_message_request = None
        await self._record(
            conversation_id, "escalation", reason="left_message", ticket_id=ticket.id, text=text.strip(),
            detail={"detail": "留言"},
        )
        when = self.hours.describe_next_opening(self.clock())
        await self.hub.post(
            conversation_id, "bot",
            f"留言已收到（编号 {ticket.id}）。人工客服会在{when}尽快通过 {_mask_phone(mobile)} 联系您。",
        )
        await self._queue_changed()
        return ticket

    # -- agent actions ------------------------------------------------------------------------------
    async def take_next(self, agent: Agent, ticket_id: Optional[int] = None) -> Optional[Ticket]:
        """Gives the agent the next ticket (or this waiting one) and tells its customer who is answering."""
        if ticket_id is None:
            ticket = await self._sql(self.queue.take_next, agent.id)
        else:
            ticket = await self._sql(self.queue.take, ticket_id, agent.id)
        if ticket is None:
            return None
        if ticket.kind != LEFT_MESSAGE:
            await self.hub.post(ticket.conversation_id, "system", f"人工客服 {agent.name} 已接入，正在查看您的对话。")
            self.hub.push(ticket.conversation_id, await self._handoff_frame(ticket))
        await self._queue_changed()
        return ticket

    async def agent_reply(self, agent: Agent, ticket_id: int, text: str) -> Any:
        """Posts the agent's message into the customer's conversation."""
        ticket = await self._sql(self.queue.note_agent_reply, ticket_id, agent.id)
        message, _ = await self.hub.post(ticket.conversation_id, "agent", text, extra={"agent": {"name": agent.name}})
        await self._record(ticket.conversation_id, "agent_message", ticket_id=ticket.id, agent=agent.name, text=text)
        return message

    async def transfer(self, agent: Agent, ticket_id: int, to_username: str) -> Ticket:
        target = await self._sql(self.directory.by_username, to_username)
        if target is None:
            raise TicketError("no_such_agent", f"no agent named {to_username!r}")
        ticket = await self._sql(self.queue.transfer, ticket_id, agent.id, target.id)
        await self.hub.post(ticket.conversation_id, "system", f"已为您转接给人工客服 {target.name}。")
        self.hub.push(ticket.conversation_id, await self._handoff_frame(ticket))
        await self._queue_changed()
        return ticket

    async def resolve(self, agent: Agent, ticket_id: int, note: str) -> Ticket:
        """Closes the ticket; the bot takes over again, says so and asks for a rating."""
        owner = None if agent.role == "supervisor" else agent.id
        ticket = await self._sql(self.queue.resolve, ticket_id, owner, note)
        taken = ticket.assigned_at or ticket.created_at
        await self._record(
            ticket.conversation_id, "resolution", ticket_id=ticket.id, agent=agent.name,
            detail={
                "wait_seconds": round((taken - ticket.created_at).total_seconds(), 1),
                "handling_seconds": round((ticket.resolved_at - taken).total_seconds(), 1),
            },
        )
        ended = {"type": "handoff", "state": "ended", "ticket_id": ticket.id, "agent": None}
        self.hub.push(ticket.conversation_id, ended)
        if ticket.kind != LEFT_MESSAGE:
            await self.hub.post(
                ticket.conversation_id, "bot",
                "人工客服已结束本次服务，小云回来继续为您服务。麻烦您为刚才的人工服务打个分吧。",
            )
            self.hub.push(ticket.conversation_id, {"type": "rating_request", "ticket_id": ticket.id})
        await self._queue_changed()
        return ticket

    async def requeue_stale(self, agent_timeout_seconds: float) -> List[Ticket]:
        """Tickets of agents who disappeared go back to the queue; their customers are told."""
        tickets = await self._sql(self.queue.requeue_stale, agent_timeout_seconds)
        for ticket in tickets:
            logger.warning("ticket %s: agent %s gone, back in the queue", ticket.id, ticket.agent_id)
            if ticket.kind != LEFT_MESSAGE:
                await self.hub.post(ticket.conversation_id, "system", "客服暂时离开了，已为您重新排队，请稍候。")
                self.hub.push(
                    ticket.conversation_id,
                    {"type": "handoff", "state": "waiting", "ticket_id": ticket.id, "agent": None},
                )
        if tickets:
            await self._queue_changed()
        return tickets

    async def ticket_view(self, ticket: Ticket) -> Dict[str, Any]:
        """The `Ticket` object of docs/console-api.md: summary, metadata, transcript with readings."""
        position = (await self.positions()).get(ticket.id) if ticket.status == WAITING else None
        agent = await self._sql(self.directory.by_id, ticket.agent_id) if ticket.agent_id else None
        view = ticket.summary(position, agent.name if agent else None)
        messages = await self.hub.history(ticket.conversation_id)
        readings = {line.get("id"): line.get("reading") for line in ticket.transcript if line.get("reading")}
        transcript = []
        for message in messages:
            line = message.to_frame()
            line.pop("type", None)
            if message.id in readings:
                line["reading"] = readings[message.id]
            transcript.append(line)
        view.update(
            shop_metadata=await self.hub.shop_metadata(ticket.conversation_id) or {},
            transcript=transcript,
            preview=next((m.text for m in reversed(messages) if m.sender == "customer"), ""),
            resolution_note=ticket.resolution_note,
            rating=ticket.rating,
            rating_comment=ticket.rating_comment,
            first_agent_reply_at=ticket.first_agent_reply_at.isoformat() if ticket.first_agent_reply_at else None,
            resolved_at=ticket.resolved_at.isoformat() if ticket.resolved_at else None,
        )
        return view
