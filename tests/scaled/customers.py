"""Customers for the scaled tests: each on a WebSocket through nginx, reconnecting when it drops and sending
again what was not acknowledged, as the widget does; what they were sent and told is kept for the checks."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import aiohttp


@dataclass
class Sent:
    client_id: str
    text: str
    at: float
    acked_id: Optional[str] = None
    # when the customer first heard about it: the bot's answer, or a notice that the bot is slow or down
    told_at: Optional[float] = None


@dataclass
class Customer:
    """One customer's conversation, driven by `run`."""

    url: str
    origin: str
    name: str
    session_id: Optional[str] = None
    # the conversation's secret, as the widget keeps it: a reconnect without it would start a new conversation
    resume_token: Optional[str] = None
    sent: List[Sent] = field(default_factory=list)
    frames: List[Dict[str, Any]] = field(default_factory=list)
    reconnects: int = 0
    gateways: List[str] = field(default_factory=list)

    def pending(self) -> List[Sent]:
        return [s for s in self.sent if s.acked_id is None]

    async def run(self, texts: List[str], period: float, stop_at: float, handoff_at: Optional[int] = None) -> None:
        """Sends `texts` in turn every `period` s until `stop_at`; the `handoff_at`-th message asks for a person."""
        number = 0
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < stop_at:
                try:
                    async with http.ws_connect(self.url, headers={"Origin": self.origin}, heartbeat=5) as ws:
                        self.gateways.append(ws._response.headers.get("X-Shop-Gateway", "?"))  # noqa: SLF001
                        hello: Dict[str, Any] = {"type": "hello"}
                        if self.session_id:
                            hello["session_id"] = self.session_id
                            hello["resume_token"] = self.resume_token
                        await ws.send_json(hello)
                        reader = asyncio.create_task(self._read(ws))
                        for item in self.pending():  # not acknowledged before the drop: sent again
                            await ws.send_json({"type": "message", "client_id": item.client_id, "text": item.text})
                        while time.monotonic() < stop_at and not reader.done():
                            if self.session_id:
                                text = "转人工" if number == handoff_at else texts[number % len(texts)]
                                item = Sent(f"{self.name}-{number}", text, time.monotonic())
                                self.sent.append(item)
                                await ws.send_json({"type": "message", "client_id": item.client_id, "text": text})
                                number += 1
                            await asyncio.sleep(period)
                        reader.cancel()
                        if time.monotonic() >= stop_at:
                            return
                except (aiohttp.ClientError, ConnectionError, asyncio.TimeoutError):
                    pass
                self.reconnects += 1
                await asyncio.sleep(0.5)

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for received in ws:
            if received.type != aiohttp.WSMsgType.TEXT:
                break
            frame = json.loads(received.data)
            frame["_at"] = time.monotonic()
            self.frames.append(frame)
            if frame["type"] == "welcome":
                self.session_id = frame["session_id"]
                self.resume_token = frame.get("resume_token") or self.resume_token
            elif frame["type"] == "ack":
                for item in self.sent:
                    if item.client_id == frame["client_id"]:
                        item.acked_id = frame["id"]
            elif frame["type"] == "notice" and frame.get("code") in ("bot_unavailable", "bot_slow"):
                for item in self.sent:
                    if item.told_at is None and item.acked_id:
                        item.told_at = frame["_at"]
            elif frame["type"] == "message" and frame.get("sender") in ("bot", "system") and frame.get("reply_to"):
                for item in self.sent:
                    if item.acked_id == frame["reply_to"] and item.told_at is None:
                        item.told_at = frame["_at"]
