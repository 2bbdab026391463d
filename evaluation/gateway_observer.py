"""What the product does with a message, observed on its real path: a customer on the gateway's WebSocket,
the bot's turn read back from the conversation event log (what the actions and the gateway reported).

An agent is kept online on the console socket while messages are sent, so that an escalation opens a
ticket (and is logged with its reason) instead of asking the customer to leave a message.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

import aiohttp
from sqlalchemy import create_engine, select

from analytics.events import events as events_table
from evaluation.live_stack import RunningStack

REPLY_TIMEOUT = 30.0
# the socket has been quiet this long: the bot's turn is over
QUIET_SECONDS = 0.3
BOT_TURN_KINDS = ("bot_answer", "clarification", "fallback", "escalation")
# kinds of turn the actions report (detail.route), whatever the event's kind
ROUTES = ("order", "product", "bargain", "card", "ask")


@dataclass
class Observation:
    """The bot's turn for one message: a behaviour (as in the labels, plus `ask` and `cannot_help`)."""

    behaviour: str
    detail: Optional[str] = None
    suggested: List[str] = field(default_factory=list)
    intent: Optional[str] = None
    confidence: Optional[float] = None
    reply: str = ""
    error: Optional[str] = None

    def __str__(self) -> str:
        if self.behaviour == "clarify":
            return "clarify[" + ",".join(self.suggested) + "]"
        return f"{self.behaviour}:{self.detail}" if self.detail else self.behaviour


def behaviour_of(turn_events: Sequence[Dict[str, Any]]) -> Observation:
    """The behaviour that a turn's logged events show (the events after the customer's message)."""
    reading = next((e for e in turn_events if e["kind"] == "customer_message"), {})
    observation = Observation("none", intent=reading.get("intent"), confidence=reading.get("confidence"))
    for event in turn_events:
        kind, detail = event["kind"], event.get("detail") or {}
        if kind == "escalation":
            reason = event.get("reason")
            observation.behaviour, observation.detail = ("order", None) if reason == "order_issue" else (
                "escalate", reason)
            return observation
        if kind not in BOT_TURN_KINDS:
            continue
        observation.suggested = list(detail.get("suggested") or [])
        if detail.get("route") in ROUTES:
            observation.behaviour = detail["route"]
            return observation
        if kind == "clarification":
            observation.behaviour = "clarify"
            return observation
        if kind == "fallback":
            observation.behaviour = "cannot_help"
            return observation
        if kind == "bot_answer":
            if event.get("kb_key"):
                observation.behaviour, observation.detail = "answer", event["kb_key"]
            else:
                observation.behaviour = "chitchat"
            return observation
    return observation


def observe_stack(
    stack: RunningStack, conversations: Sequence[Sequence[str]], concurrency: int = 6, progress: Any = None,
) -> List[Observation]:
    """Runs the conversations through a running product, with the simulation agent online."""
    from tools.simulate_day import ensure_agent

    username, password = ensure_agent(create_engine(stack.database_url))
    observer = GatewayObserver(stack.gateway_url, stack.database_url, {"username": username, "password": password})
    return asyncio.run(observer.observe_all(conversations, concurrency, progress))


class GatewayObserver:
    """Sends messages as customers, each in a conversation of its own, and reads back the bot's turns."""

    def __init__(self, gateway_url: str, database_url: str, agent_login: Optional[Dict[str, str]] = None) -> None:
        self.base = gateway_url.rstrip("/")
        self.engine = create_engine(database_url)
        self.agent_login = agent_login

    async def observe_all(
        self, conversations: Sequence[Sequence[str]], concurrency: int = 6, progress: Any = None,
    ) -> List[Observation]:
        """For each conversation (the customer's messages in order), the bot's turn on the last message."""
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as agent, aiohttp.ClientSession() as http:
            console = None
            if self.agent_login:
                login = await agent.post(f"{self.base}/console/api/login", json=self.agent_login)
                if login.status != 200:
                    raise RuntimeError(f"the observing agent could not log in at {self.base} (HTTP {login.status})")
                console = await agent.ws_connect(f"{self.base}/console/socket")  # keeps an agent online
                # read what the console is sent, so that its heartbeat is answered and the agent stays
                # online however long the run (an unread socket is dropped and escalations turn into
                # requests to leave a message)
                drain = asyncio.create_task(self._drain(console))
            gate = asyncio.Semaphore(concurrency)

            async def one(messages: Sequence[str]) -> Observation:
                async with gate:
                    try:
                        return await self.observe(http, messages)
                    except Exception as error:  # noqa: BLE001 - one broken conversation is reported, not fatal
                        return Observation("none", error=repr(error))
                    finally:
                        if progress is not None:
                            progress.update(1)

            try:
                return list(await asyncio.gather(*(one(m) for m in conversations)))
            finally:
                if console is not None:
                    drain.cancel()
                    await console.close()

    @staticmethod
    async def _drain(console: Any) -> None:
        async for _ in console:
            pass

    async def observe(self, http: aiohttp.ClientSession, messages: Sequence[str]) -> Observation:
        """One new conversation: every message but the last is context (a handoff it opens is cancelled)."""
        async with http.ws_connect(f"{self.base}/chat/socket", timeout=REPLY_TIMEOUT) as ws:
            await ws.send_json({"type": "hello"})
            session_id = None
            while session_id is None:
                frame = await self._next(ws)
                if frame.get("type") == "welcome":
                    session_id = frame["session_id"]
            replies: List[str] = []
            for number, text in enumerate(messages):
                replies = []
                handoff = await self._send(ws, {"type": "message", "client_id": f"m{number}", "text": text}, replies)
                if handoff:
                    # context turns must not leave the customer with a person; nor must the measured one
                    # leave a ticket in the queue for the agents of other tests
                    await self._send(ws, {"type": "cancel_handoff"}, [])
            observation = await self._last_turn(session_id)
            observation.reply = replies[0] if replies else ""
            return observation

    async def _send(self, ws: Any, frame: Dict[str, Any], replies: List[str]) -> bool:
        """Sends a frame and reads until the socket is quiet; True when a handoff started."""
        await ws.send_json(frame)
        handoff, answered = False, False
        loop = asyncio.get_running_loop()
        deadline = loop.time() + REPLY_TIMEOUT
        while loop.time() < deadline:
            try:
                reply = await self._next(ws, timeout=QUIET_SECONDS if answered else REPLY_TIMEOUT)
            except asyncio.TimeoutError:
                if answered:
                    break
                raise
            kind = reply.get("type")
            if kind == "message" and reply.get("sender") in ("bot", "agent", "system"):
                replies.append(reply.get("text") or "")
                answered = True
            elif kind == "handoff":
                handoff = handoff or reply.get("state") in ("waiting", "assigned")
                answered = True
            elif kind in ("leave_message_request", "notice", "error"):
                answered = True
        return handoff

    async def _last_turn(self, session_id: str) -> Observation:
        """Reads the log until the bot's turn on the last customer message is there (it is written off-thread)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5.0
        while True:
            rows = await loop.run_in_executor(None, self._events, session_id)
            last_customer = max((i for i, e in enumerate(rows) if e["kind"] == "customer_message"), default=None)
            turn = rows[last_customer:] if last_customer is not None else []
            if any(e["kind"] in BOT_TURN_KINDS for e in turn) or loop.time() > deadline:
                return behaviour_of(turn)
            await asyncio.sleep(0.1)

    def _events(self, session_id: str) -> List[Dict[str, Any]]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(events_table).where(events_table.c.conversation_id == session_id).order_by(events_table.c.id)
            ).all()
        return [dict(row._mapping) for row in rows]

    @staticmethod
    async def _next(ws: Any, timeout: float = REPLY_TIMEOUT) -> Dict[str, Any]:
        message = await ws.receive(timeout=timeout)
        if message.type != aiohttp.WSMsgType.TEXT:
            raise ConnectionError(f"the gateway closed the chat socket ({message.type})")
        return message.json()
