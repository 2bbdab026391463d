"""What happens to a customer's frames once they are parsed, whatever the transport (WebSocket or HTTP).

`hello` starts or resumes a conversation, for the customer the shop signed or an
anonymous visitor (a verified customer's conversation is resumed by that customer
only: anyone else gets a new one); `message` is checked against the
rate limit, stored once, echoed to the conversation, then routed: to the agent
while the conversation has an open ticket, to a person at once when a
gateway-side escalation rule matches (VIP tier, strong anger, the 转人工
button), otherwise to the bot. Each route marks the message handled (store.py);
`resume` routes a message that a gateway stored but did not finish (it died, or
the bot could not answer yet), found by the pending-message sweep (pending.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from bot.gateway import resume_tokens
from bot.gateway.address_limits import AddressLimits
from bot.gateway.bot_relay import BotRelay
from bot.gateway.customer_notices import HANDOFF_PAYLOAD, LEAVE_MESSAGE_PAYLOAD, CustomerNotices
from bot.gateway.hub import ConversationHub
from bot.gateway.identity import CustomerIdentities, with_customer
from bot.gateway.protocol import CustomerMessage, Hello, ProtocolError, text_for_bot
from bot.gateway.rate_limit import Limiter, take_in_turn
from bot.gateway.store import ANSWERED, HANDED_OVER, HANDING_OVER, TO_AGENT, Message
from core.reading import faq_key_of_payload
from handoff.errors import HandoffRefused
from handoff.escalation import GATEWAY_SIDE_RULES, Escalation, Turn
from handoff.services import HandoffService


@dataclass
class Welcome:
    """The answer to `hello`: the conversation and what the client has not seen yet."""

    session_id: str
    resumed: bool
    history: List[Message]
    max_length: int
    # a resume token given to this browser now (a new conversation, or a verified customer on a new
    # device); None when the hello's own token opened the conversation
    resume_token: Optional[str] = None

    def to_frame(self) -> Dict[str, Any]:
        """The `welcome` frame."""
        frame = {
            "type": "welcome",
            "session_id": self.session_id,
            "resumed": self.resumed,
            "limits": {"max_length": self.max_length},
        }
        if self.resume_token:
            frame["resume_token"] = self.resume_token
        return frame


class ChatService:
    """Customer-side conversation logic shared by both transports."""

    def __init__(
        self, hub: ConversationHub, relay: BotRelay, handoff: HandoffService, notices: CustomerNotices,
        limiter: Limiter, max_length: int, identities: Optional[CustomerIdentities] = None,
        address_limits: Optional[AddressLimits] = None,
    ) -> None:
        """`address_limits`: the per-client-address limits (none: only the per-conversation `limiter`)."""
        self.hub = hub
        self.relay = relay
        self.handoff = handoff
        self.notices = notices
        self.limiter = limiter
        self.max_length = max_length
        self.identities = identities or CustomerIdentities("")
        self.address_limits = address_limits or AddressLimits({})

    async def hello(self, hello: Hello, address: Optional[str] = None) -> Welcome:
        """Resumes the conversation named in `hello` when the hello proves it is the customer's, or starts
        one. The proof is the conversation's resume token (the id is public: agents and exports show it); a
        hello without it, with a wrong one, or naming an unknown conversation starts a new conversation and
        sees nothing of the named one. A conversation that belongs to a verified customer is resumed only for
        that customer, signed in again, on any device (their signature is the proof; that device is given a
        token of its own): a visitor who logged out or another customer on the same browser starts a new one.
        An anonymous conversation becomes the customer's when they log in. A new conversation counts against
        the client `address`'s limit."""
        if hello.unsigned_claim:
            self.identities.note_unsigned()
        customer = self.identities.verify(hello.identity)
        metadata = with_customer(hello.metadata, customer)
        session_id, known, token_opened = hello.session_id, None, False
        if session_id:
            known = await self.hub.shop_metadata(session_id)
            owner = (known or {}).get("customer_id")
            if known is None or (owner and (customer is None or customer.customer_id != owner)):
                session_id = None
            else:
                token_opened = await self.hub.token_opens(session_id, hello.resume_token)
                if not owner and not token_opened:
                    session_id = None
        if not session_id and customer is not None:
            # signed in on another device or browser: their conversation follows them
            session_id = await self.hub.latest_conversation_of(customer.customer_id)
            known = await self.hub.shop_metadata(session_id) if session_id else None
        resumed = session_id is not None
        given = None if token_opened else resume_tokens.new_token()
        if session_id is None:
            await self.address_limits.new_conversation(address)
            session_id = await self.hub.start_conversation(metadata, given)
        else:
            if given:
                await self.hub.add_resume_token(session_id, given)
            if any((known or {}).get(key) != value for key, value in metadata.items()):
                await self.hub.update_metadata(session_id, metadata)
        # a conversation started by this hello has no history, live state or ticket yet: nothing to read
        history = await self.hub.history(session_id, hello.last_seq) if resumed else []
        return Welcome(session_id, resumed, history, self.max_length, given)

    async def check_resume_token(self, session_id: str, resume_token: Optional[str]) -> None:
        """Refuses (bad_resume_token) an HTTP call about a conversation without that conversation's token."""
        if not await self.hub.token_opens(session_id, resume_token):
            raise ProtocolError("bad_resume_token")

    async def receive(self, session_id: str, message: CustomerMessage, address: Optional[str] = None) -> Message:
        """Stores a customer message (once per client id) and asks the bot to answer it; counted against the
        conversation's limit and the client `address`'s."""
        # the conversation's bucket, then the address's, in one call to Redis when both live there
        limits = [(self.limiter, session_id), *self.address_limits.checks("messages", address)]
        refused, wait = await take_in_turn(limits)
        if refused is not None:
            wait = max(1, wait)
            # a message re-sent after a dropped connection is acknowledged, never refused
            existing = await self.hub.find_customer_message(session_id, message.client_id)
            if existing:
                return existing
            raise ProtocolError("rate_limited", message.client_id, seconds=wait)
        shop_metadata = await self._metadata(session_id, message)
        payload = await self._offered(session_id, message.payload)
        # stored, and where it goes read, in one transaction
        stored, duplicate, ticket = await self.hub.post_customer_message(
            session_id, message.text, message.client_id, payload,
            self.handoff.open_ticket_read(session_id),
        )
        if not duplicate:
            await self._route(session_id, stored, shop_metadata, ticket is not None)
        return stored

    async def resume(self, message: Message) -> None:
        """Handles a stored message that was left unfinished, as if it had just arrived (its route is decided
        again: an agent may have taken the conversation meanwhile); a bot's request for a person that waits
        for its ticket gets it."""
        session_id = message.conversation_id
        if message.handling == HANDING_OVER and message.handoff:
            decision = Escalation(message.handoff.get("reason", "request_human"),
                                  str(message.handoff.get("detail") or ""), int(message.handoff.get("priority", 10)))
            await self.handoff.escalate(session_id, decision)
            await self.hub.finish(message, HANDED_OVER)
            return
        metadata = await self.hub.shop_metadata(session_id) or {}
        with_agent = await self.handoff.open_ticket(session_id) is not None
        await self._route(session_id, message, metadata, with_agent)

    async def _route(self, session_id: str, stored: Message, metadata: Dict[str, str], with_agent: bool) -> None:
        payload = stored.payload
        if payload == LEAVE_MESSAGE_PAYLOAD:
            await self.handoff.request_left_message(session_id, "请留下您的问题和手机号，人工客服会尽快联系您。")
            await self.hub.finish(stored, ANSWERED)
            return
        recorder = self.relay.recorder
        if with_agent:
            # an agent has (or will have) this conversation: the bot must not answer
            if recorder:
                await recorder.customer_message(session_id, stored.text, "agent")
            await self.hub.finish(stored, TO_AGENT)
            return
        rules = self.handoff.rules
        if payload == HANDOFF_PAYLOAD:
            decision: Optional[Escalation] = rules.escalate("request_human", "点击了“转人工”按钮")
        else:
            turn = Turn(text=stored.text, tier=metadata.get("tier"), first_message=stored.seq == 1)
            decision = rules.first_match(turn, GATEWAY_SIDE_RULES)
        if decision:
            if recorder:
                await recorder.customer_message(session_id, stored.text, "gateway")
            await self.handoff.escalate(session_id, decision)
            await self.hub.finish(stored, HANDED_OVER)
            return
        picked = faq_key_of_payload(payload)
        if picked and recorder:
            await recorder.record(session_id, "suggestion_taken", kb_key=picked[:120])
        self.relay.submit(session_id, payload or text_for_bot(stored.text), metadata, stored)

    async def state_frames(self, session_id: str) -> List[Dict[str, Any]]:
        """The handoff state a (re)connecting client must be shown."""
        return await self.notices.state_frames(session_id)

    async def resumed_frames(self, welcome: Welcome) -> List[Dict[str, Any]]:
        """What a client that resumed a conversation is shown after the welcome and the history: the bot's
        notice and typing dots, then the handoff state. None for a conversation the hello started."""
        if not welcome.resumed:
            return []
        frames: List[Dict[str, Any]] = []
        live = await self.hub.current_live(welcome.session_id)
        if live.notice:
            frames.append({"type": "notice", **live.notice})
        if live.typing:
            frames.append({"type": "typing", "on": True})
        return frames + await self.state_frames(welcome.session_id)

    async def control(self, session_id: str, frame: Dict[str, Any], address: Optional[str] = None) -> None:
        """The handoff frames a customer may send: cancel_handoff, rating, leave_message (counted against the
        client `address`'s limit)."""
        try:
            await self._control(session_id, frame, address)
        except HandoffRefused as refused:
            raise ProtocolError(refused.code, **refused.values) from None

    async def _control(self, session_id: str, frame: Dict[str, Any], address: Optional[str]) -> None:
        kind = frame["type"]
        if kind == "cancel_handoff":
            await self.handoff.cancel(session_id)
        elif kind == "rating":
            await self.handoff.rate(session_id, frame.get("ticket_id"), frame.get("score"), frame.get("comment"))
        elif kind == "leave_message":
            allowed, wait = await self.limiter.check(session_id)
            if not allowed:
                raise ProtocolError("rate_limited", seconds=wait)
            await self.address_limits.leave_message(address)
            await self.handoff.leave_message(session_id, frame.get("text"), frame.get("phone"))
        else:
            raise ProtocolError("unknown_type")

    async def _metadata(self, session_id: str, message: CustomerMessage) -> Dict[str, str]:
        known = await self.hub.shop_metadata(session_id)
        if known is None:
            raise ProtocolError("unknown_session", message.client_id)
        # page data only: the customer's id and tier were settled by the signed hello
        update = with_customer(message.metadata, None)
        if update and any(known.get(k) != v for k, v in update.items()):
            return await self.hub.update_metadata(session_id, update)
        return known

    async def _offered(self, session_id: str, payload: Optional[str]) -> Optional[str]:
        # a payload is an intent command to Rasa: only ones the bot offered as buttons are passed on,
        # anything else is treated as the typed text it came with; the gateway's own commands always work
        if payload in (HANDOFF_PAYLOAD, LEAVE_MESSAGE_PAYLOAD):
            return payload
        if payload and payload in await self.hub.offered_payloads(session_id):
            return payload
        return None
