"""What the customer is told about people: the handoff service's events as messages and frames.

Subscribed to handoff/events.py. Every text a customer reads about a ticket (queue place and wait,
who answers, the end of a service, a left message's receipt) is here, and so are the `handoff`,
`queue`, `rating_request` and `leave_message_request` frames of docs/chat-protocol.md.
"""

from __future__ import annotations

import math
from typing import Any, Awaitable, Callable, Dict, List, Optional

from bot.gateway.hub import ConversationHub
from handoff.events import (
    LeftMessageRequested,
    MessageLeft,
    QueueChanged,
    QueuePlace,
    TicketCancelled,
    TicketOpened,
    TicketRated,
    TicketRequeued,
    TicketResolved,
    TicketTaken,
    TicketTransferred,
)
from handoff.queue import Ticket
from handoff.schema import ASSIGNED, LEFT_MESSAGE
from handoff.services import HandoffService

HANDOFF_PAYLOAD = "/handoff"
LEAVE_MESSAGE_PAYLOAD = "/leave_message"


def mask_phone(phone: str) -> str:
    """138****8000: enough for the customer to recognise their number."""
    return phone[:3] + "****" + phone[-4:]


def handoff_frame(ticket: Ticket, state: Optional[str] = None, agent_name: Optional[str] = None) -> Dict[str, Any]:
    agent = {"name": agent_name} if agent_name and ticket.status == ASSIGNED else None
    return {"type": "handoff", "state": state or ticket.status, "ticket_id": ticket.id, "agent": agent}


def queue_frame(place: QueuePlace) -> Dict[str, Any]:
    return {"type": "queue", "position": place.position, "eta_seconds": place.eta_seconds}


class CustomerNotices:
    """Posts the texts and pushes the frames that tell customers where their request for a person stands."""

    def __init__(self, hub: ConversationHub, service: HandoffService) -> None:
        self.hub = hub
        self.service = service
        self._handlers: Dict[type, Callable[[Any], Awaitable[None]]] = {
            TicketOpened: self._ticket_opened,
            QueueChanged: self._queue_changed,
            LeftMessageRequested: self._left_message_requested,
            MessageLeft: self._message_left,
            TicketCancelled: self._ticket_cancelled,
            TicketRated: self._ticket_rated,
            TicketTaken: self._ticket_taken,
            TicketTransferred: self._ticket_transferred,
            TicketResolved: self._ticket_resolved,
            TicketRequeued: self._ticket_requeued,
        }
        service.events.subscribe(self.on_event)

    async def state_frames(self, conversation_id: str) -> List[Dict[str, Any]]:
        """What a (re)connecting client must know: handoff state, queue place, a pending rating or message form."""
        state = await self.service.customer_state(conversation_id)
        frames: List[Dict[str, Any]] = []
        if state.ticket:
            frames.append(handoff_frame(state.ticket, agent_name=state.agent_name))
            if state.place:
                frames.append(queue_frame(state.place))
            return frames
        if state.rating_due:
            frames.append({"type": "rating_request", "ticket_id": state.rating_due.id})
        pending = (await self.hub.current_live(conversation_id)).leave_message_request
        if pending:
            frames.append(pending)
        return frames

    async def on_event(self, event: Any) -> None:
        """Tells the customer what the event means for them."""
        handler = self._handlers.get(type(event))
        if handler is not None:
            await handler(event)

    async def _ticket_opened(self, event: TicketOpened) -> None:
        ticket = event.ticket
        if ticket.status == ASSIGNED:
            text = "人工客服正在为您服务，请直接发送您的问题。"
        else:
            position = event.place.position if event.place else 1
            minutes = max(1, math.ceil((event.place.eta_seconds if event.place else 0) / 60))
            ahead = "您是下一位" if position == 1 else f"您前面还有 {position - 1} 位"
            text = (
                f"{'已为您转接人工客服' if event.created else '您已在排队中'}，{ahead}，预计等待约 {minutes} 分钟。"
                "等待期间可以继续描述您的问题，客服接入后会看到全部对话，不用重复。"
            )
        await self.hub.post(ticket.conversation_id, "bot", text)
        self.hub.push(ticket.conversation_id, handoff_frame(ticket, agent_name=event.agent_name))
        if event.place:
            self.hub.push(ticket.conversation_id, queue_frame(event.place))

    async def _queue_changed(self, event: QueueChanged) -> None:
        for place in event.places:
            if place.ticket.kind != LEFT_MESSAGE:
                self.hub.push(place.ticket.conversation_id, queue_frame(place))

    async def _left_message_requested(self, event: LeftMessageRequested) -> None:
        frame = {"type": "leave_message_request", "text": event.text}
        self.hub.set_leave_message_request(event.conversation_id, frame)
        await self.hub.post(event.conversation_id, "bot", event.text)
        self.hub.push(event.conversation_id, frame)

    async def _message_left(self, event: MessageLeft) -> None:
        conversation_id = event.ticket.conversation_id
        self.hub.set_leave_message_request(conversation_id, None)
        await self.hub.post(
            conversation_id, "bot",
            f"留言已收到（编号 {event.ticket.id}）。人工客服会在{event.next_opening}尽快通过 "
            f"{mask_phone(event.mobile)} 联系您。",
        )

    async def _ticket_cancelled(self, event: TicketCancelled) -> None:
        conversation_id = event.ticket.conversation_id
        await self.hub.post(conversation_id, "bot", "已为您取消排队，小云继续为您服务。还有什么可以帮您？")
        self.hub.push(conversation_id, handoff_frame(event.ticket, "cancelled"))

    async def _ticket_rated(self, event: TicketRated) -> None:
        await self.hub.post(event.ticket.conversation_id, "bot", "感谢您的评价！还有其他问题可以随时问小云。")

    async def _ticket_taken(self, event: TicketTaken) -> None:
        ticket = event.ticket
        if ticket.kind != LEFT_MESSAGE:
            await self.hub.post(
                ticket.conversation_id, "system", f"人工客服 {event.agent_name} 已接入，正在查看您的对话。"
            )
            self.hub.push(ticket.conversation_id, handoff_frame(ticket, agent_name=event.agent_name))

    async def _ticket_transferred(self, event: TicketTransferred) -> None:
        ticket = event.ticket
        await self.hub.post(ticket.conversation_id, "system", f"已为您转接给人工客服 {event.agent_name}。")
        self.hub.push(ticket.conversation_id, handoff_frame(ticket, agent_name=event.agent_name))

    async def _ticket_resolved(self, event: TicketResolved) -> None:
        ticket = event.ticket
        self.hub.push(ticket.conversation_id, handoff_frame(ticket, "ended"))
        if ticket.kind != LEFT_MESSAGE:
            await self.hub.post(
                ticket.conversation_id, "bot",
                "人工客服已结束本次服务，小云回来继续为您服务。麻烦您为刚才的人工服务打个分吧。",
            )
            self.hub.push(ticket.conversation_id, {"type": "rating_request", "ticket_id": ticket.id})

    async def _ticket_requeued(self, event: TicketRequeued) -> None:
        ticket = event.ticket
        if ticket.kind != LEFT_MESSAGE:
            await self.hub.post(ticket.conversation_id, "system", "客服暂时离开了，已为您重新排队，请稍候。")
            self.hub.push(ticket.conversation_id, handoff_frame(ticket, "waiting"))
