"""The gateway's side of Rasa: customer messages go to Rasa's gateway channel, replies come back in the response.

The channel (bot/rasa_channel.py, `/webhooks/gateway/webhook`) takes Rasa's REST body, so
`metadata` and `input_channel` reach the tracker, and answers with the replies and the bot's
reading of the message: one request per customer message, and none to the tracker API. The
gateway, not Rasa, keeps the customer's connection and decides where replies go.

With several Rasa processes, each conversation goes to the same one (rendezvous hashing on its id), so
that process's kept tracker (bot/rasa_tracker_store.py) serves it without reading the database again.
A process that refuses the connection is passed over for `DOWN_SECONDS` and the message goes to the
next one at once (a refused connection means Rasa never saw it); a process that fails after taking the
message leaves it pending, to be asked again (pending.py).
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Union

import aiohttp
import orjson
from yarl import URL

from bot.json_http import JsonPoster, NotConnected

INPUT_CHANNEL = "widget"
WEBHOOK_PATH = "/webhooks/gateway/webhook"
DOWN_SECONDS = 3.0


class BotUnavailable(Exception):
    """Rasa did not answer: not running, too slow, or failing."""


@dataclass
class BotReply:
    """One message of the bot's answer."""

    text: str
    buttons: List[Dict[str, str]] = field(default_factory=list)
    image: Optional[str] = None
    # an action's request to hand the conversation to a person (actions/escalate.py)
    handoff: Optional[Dict[str, Any]] = None
    # what the action did, for the event log (answer, clarification, fallback)
    analytics: Optional[Dict[str, Any]] = None

    def extra(self) -> Dict[str, Any]:
        """What the store keeps beside the text."""
        extra: Dict[str, Any] = {}
        if self.buttons:
            extra["buttons"] = self.buttons
        if self.image:
            extra["image"] = self.image
        return extra


@dataclass
class BotAnswer:
    """The bot's answer to one customer message: its replies and how it read the message."""

    replies: List[BotReply]
    reading: Optional[Dict[str, Any]] = None


def parse_answer(body: Any) -> BotAnswer:
    """The gateway channel's response; a reading of the wrong shape is dropped."""
    body = body if isinstance(body, dict) else {}
    reading = body.get("reading") if isinstance(body.get("reading"), dict) else None
    return BotAnswer(parse_replies(body.get("messages")), reading)


def parse_replies(body: Any) -> List[BotReply]:
    """Rasa's REST response (a list of messages) as BotReply objects; unknown shapes are skipped."""
    replies = []
    for item in body if isinstance(body, list) else []:
        if not isinstance(item, dict):
            continue
        buttons = [
            {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
            for b in item.get("buttons") or []
            if isinstance(b, dict) and b.get("title")
        ]
        text = item.get("text") or ""
        image = item.get("image") if isinstance(item.get("image"), str) else None
        custom = item.get("custom") if isinstance(item.get("custom"), dict) else {}
        handoff = custom.get("handoff") if isinstance(custom.get("handoff"), dict) else None
        analytics = custom.get("analytics") if isinstance(custom.get("analytics"), dict) else None
        if text or buttons or image or handoff or analytics:
            replies.append(BotReply(str(text), buttons, image, handoff, analytics))
    return replies


def rasa_urls(value: Union[str, Sequence[str]]) -> List[str]:
    """Rasa base URLs from a comma-separated setting or a list."""
    items = value.split(",") if isinstance(value, str) else list(value)
    urls = [item.strip().rstrip("/") for item in items if item and item.strip()]
    if not urls:
        raise ValueError("no Rasa URL is configured (rasa.host and rasa.port, or gateway.rasa_urls)")
    return urls


class RasaClient:
    """Posts to Rasa's gateway channel over kept-alive connections (bot/json_http.py), on one or several Rasa
    processes."""

    def __init__(self, base_urls: Union[str, Sequence[str]], timeout_seconds: float, max_connections: int = 32,
                 clock=time.monotonic) -> None:
        self.base_urls = rasa_urls(base_urls)
        self.webhooks = [URL(base + WEBHOOK_PATH) for base in self.base_urls]
        # the whole call, including the wait for a free kept-alive connection; a refused or black-holed Rasa
        # port fails fast on the connect timeout
        self.timeout_seconds = timeout_seconds
        self.connect_timeout = min(3.0, timeout_seconds)
        self.max_connections = max_connections
        self.clock = clock
        self._down_until: Dict[int, float] = {}
        self._posters: List[JsonPoster] = []
        # (when, seconds, answered?) of the latest requests, for the operators' figures (operations.py)
        self.recent: deque = deque(maxlen=5000)

    def is_down(self, index: int) -> bool:
        """Whether the index-th Rasa refused a connection in the last DOWN_SECONDS."""
        return self._down_until.get(index, 0) > self.clock()

    @property
    def webhook_url(self) -> URL:
        """The first Rasa's webhook (one Rasa: the only one)."""
        return self.webhooks[0]

    async def start(self) -> None:
        """Opens the connection pools (call from the running event loop)."""
        # a bounded keep-alive pool per Rasa process: a crowd of customers queues here instead of
        # overflowing Rasa's listen backlog with new connections
        self._posters = [JsonPoster(webhook, max_connections=self.max_connections,
                                    connect_timeout=self.connect_timeout) for webhook in self.webhooks]

    async def close(self) -> None:
        """Closes the connection pools."""
        for poster in self._posters:
            await poster.close()

    def order_for(self, conversation_id: str) -> List[int]:
        """The Rasa processes for a conversation, its own first (highest rendezvous score); those passed over
        just now go last."""
        key = conversation_id.encode("utf-8")
        ranked = sorted(range(len(self.webhooks)), key=lambda i: -zlib.crc32(key + self.base_urls[i].encode()))
        now = self.clock()
        return [i for i in ranked if self._down_until.get(i, 0) <= now] + \
               [i for i in ranked if self._down_until.get(i, 0) > now]

    async def send(self, conversation_id: str, text: str, metadata: Dict[str, str]) -> BotAnswer:
        """The bot's answer to one customer message; BotUnavailable when Rasa cannot give it."""
        assert self._posters, "RasaClient.start() was not called"
        body = {"sender": conversation_id, "message": text, "metadata": metadata, "input_channel": INPUT_CHANNEL}
        refused: Optional[str] = None
        started = time.monotonic()
        try:
            for index in self.order_for(conversation_id):
                try:
                    answer = await self._post(index, body)
                    self.recent.append((started, time.monotonic() - started, True))
                    return answer
                except NotConnected as error:
                    # never reached this Rasa: the next one may take the message at once
                    self._down_until[index] = self.clock() + DOWN_SECONDS
                    refused = f"Rasa at {self.webhooks[index]} refused the connection: {error}"
            raise BotUnavailable(refused or "no Rasa process is configured")
        except BotUnavailable:
            self.recent.append((started, time.monotonic() - started, False))
            raise

    async def _post(self, index: int, body: Dict[str, Any]) -> BotAnswer:
        webhook = self.webhooks[index]
        try:
            response = await self._posters[index].post(orjson.dumps(body), self.timeout_seconds)
        except asyncio.TimeoutError:
            raise BotUnavailable(
                f"Rasa did not answer in time at {webhook} (gateway.bot_timeout_seconds={self.timeout_seconds})"
            ) from None
        except NotConnected:
            raise
        except aiohttp.ClientError as error:
            raise BotUnavailable(f"Rasa at {webhook} failed: {error!r}") from None
        if response.status == 404:
            raise BotUnavailable(
                f"Rasa has no gateway channel at {webhook}: start it with credentials.yml, "
                "which lists bot.rasa_channel.GatewayInput"
            )
        if response.status != 200:
            raise BotUnavailable(f"Rasa answered HTTP {response.status} at {webhook}")
        try:
            return parse_answer(response.json())
        except ValueError as error:  # orjson's JSONDecodeError is a ValueError
            raise BotUnavailable(f"Rasa at {webhook} failed: {error}") from None
