"""The gateway's side of Rasa: customer messages go to Rasa's gateway channel, replies come back in the response.

The channel (bot/rasa_channel.py, `/webhooks/gateway/webhook`) takes Rasa's REST body, so
`metadata` and `input_channel` reach the tracker, and answers with the replies and the bot's
reading of the message: one request per customer message, and none to the tracker API. The
gateway, not Rasa, keeps the customer's connection and decides where replies go.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import aiohttp
import orjson
from yarl import URL

from core import fast_json

INPUT_CHANNEL = "widget"
WEBHOOK_PATH = "/webhooks/gateway/webhook"


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


class RasaClient:
    """Posts to Rasa's REST channel with one shared connection pool."""

    def __init__(self, base_url: str, timeout_seconds: float, max_connections: int = 32) -> None:
        # parsed once: aiohttp parses a URL given as text on every request
        self.webhook_url = URL(base_url.rstrip("/") + WEBHOOK_PATH)
        # `total` includes the wait for a free pooled connection; a refused or black-holed
        # Rasa port fails fast on `sock_connect`
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds, sock_connect=min(3.0, timeout_seconds))
        self.max_connections = max_connections
        self._session: Optional[aiohttp.ClientSession] = None

    async def start(self) -> None:
        """Opens the connection pool (call from the running event loop)."""
        # a bounded keep-alive pool: a crowd of customers queues here instead of
        # overflowing Rasa's listen backlog with new connections
        self._session = aiohttp.ClientSession(
            timeout=self.timeout, connector=aiohttp.TCPConnector(limit=self.max_connections),
            json_serialize=fast_json.dumps,
        )

    async def close(self) -> None:
        """Closes the connection pool."""
        if self._session:
            await self._session.close()

    async def send(self, conversation_id: str, text: str, metadata: Dict[str, str]) -> BotAnswer:
        """The bot's answer to one customer message; BotUnavailable when Rasa cannot give it."""
        assert self._session is not None, "RasaClient.start() was not called"
        body = {"sender": conversation_id, "message": text, "metadata": metadata, "input_channel": INPUT_CHANNEL}
        try:
            async with self._session.post(self.webhook_url, json=body) as response:
                if response.status == 404:
                    raise BotUnavailable(
                        f"Rasa has no gateway channel at {self.webhook_url}: start it with credentials.yml, "
                        "which lists bot.rasa_channel.GatewayInput"
                    )
                if response.status != 200:
                    raise BotUnavailable(f"Rasa answered HTTP {response.status} at {self.webhook_url}")
                return parse_answer(orjson.loads(await response.read()))
        except asyncio.TimeoutError:
            raise BotUnavailable(
                f"Rasa did not answer in time at {self.webhook_url} (gateway.bot_timeout_seconds="
                f"{self.timeout.total})"
            ) from None
        except (aiohttp.ClientError, ValueError) as error:  # orjson's JSONDecodeError is a ValueError
            raise BotUnavailable(f"Rasa at {self.webhook_url} failed: {error}") from None
