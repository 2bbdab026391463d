"""A customer in the widget, for tests and benchmarks: one conversation over the gateway's WebSocket, each
message answered by the bot's replies to it (a signed-in customer's conversation is resumed with its history,
which is not an answer)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any, Dict, List, Optional

import aiohttp

from core.customer_identity import signed_claim
from evaluation.live_stack import STACK_IDENTITY_SECRET

# a turn's messages come together: the answer is complete when nothing more comes for this long
QUIET_SECONDS = 0.7
REPLY_TIMEOUT = 30.0


def answer_to(frame: Dict[str, Any], message_id: str) -> bool:
    """A bot message that replies to the customer's message `message_id`."""
    return frame["type"] == "message" and frame["sender"] == "bot" and frame.get("reply_to") == message_id


class CustomerChat:
    """Open it (anonymous, or signed in as a demo customer with the test stacks' secret), then `say`."""

    def __init__(self, http: aiohttp.ClientSession, gateway_url: str) -> None:
        self.http, self.url = http, gateway_url
        # seconds from sending the latest message to the bot's first reply to it
        self.first_reply_seconds = 0.0

    async def open(self, customer: Optional[str] = None) -> CustomerChat:
        self.ws = await self.http.ws_connect(self.url + "/chat/socket")
        hello: Dict[str, Any] = {"type": "hello"}
        if customer:
            hello["identity"] = signed_claim(STACK_IDENTITY_SECRET, customer)
        await self.ws.send_json(hello)
        while (await self._next())["type"] != "welcome":
            pass
        return self

    async def say(self, text: str, payload: Optional[str] = None,
                  quiet: float = QUIET_SECONDS) -> List[Dict[str, Any]]:
        """The bot's messages in answer: its first one, then any that come until the socket is quiet for `quiet`
        seconds (0: the first one only)."""
        # unique like the widget's: a repeated id is a resend, answered from before
        client_id = uuid.uuid4().hex
        started = time.perf_counter()
        await self.ws.send_json({"type": "message", "client_id": client_id, "text": text,
                                 **({"payload": payload} if payload else {})})
        frames: List[Dict[str, Any]] = []
        message_id: Optional[str] = None
        # the answer may come before the ack: read until both have come
        while message_id is None or not any(answer_to(f, message_id) for f in frames):
            frame = await self._next()
            frames.append(frame)
            if frame["type"] == "ack" and frame["client_id"] == client_id:
                message_id = frame["id"]
        self.first_reply_seconds = time.perf_counter() - started
        while quiet > 0:
            try:
                frames.append(await self._next(quiet))
            except asyncio.TimeoutError:
                break
        return [f for f in frames if answer_to(f, message_id)]

    async def close(self) -> None:
        await self.ws.close()

    async def _next(self, timeout: float = REPLY_TIMEOUT) -> Dict[str, Any]:
        received = await self.ws.receive(timeout=timeout)
        if received.type != aiohttp.WSMsgType.TEXT:
            raise ConnectionError(f"the gateway closed the customer's socket ({received.type})")
        return json.loads(received.data)
