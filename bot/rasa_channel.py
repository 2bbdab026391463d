"""Rasa's input channel for the gateway: the bot's replies and its reading of the message, in one answer.

POST /webhooks/gateway/webhook with Rasa's REST body (sender, message, metadata, input_channel)
answers `{"messages": [...], "reading": {...}}`. The messages are exactly what the REST channel
returns. The reading (core/reading.py) comes from the same parse that Rasa logs in the tracker:
the channel parses the message and hands Rasa the parse with it, as a `UserMessage` with
`parse_data` is handled without parsing again. So the gateway needs no request to Rasa's tracker
API to know what the bot understood, on any turn.

Registered in credentials.yml as `bot.rasa_channel.GatewayInput`.
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Dict

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from core.reading import reading_from_parse

logger = logging.getLogger(__name__)


class GatewayInput(RestInput):
    """Rasa's REST channel, answering with the reading beside the messages."""

    @classmethod
    def name(cls) -> str:
        return "gateway"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """The health route and the webhook."""
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body = request.json if isinstance(request.json, dict) else {}
            sender, text = body.get("sender"), body.get("message")
            if not isinstance(sender, str) or not isinstance(text, str):
                return response.json({"error": "`sender` and `message` must be strings"}, status=400)
            agent = getattr(request.app.ctx, "agent", None)
            if agent is None or not agent.is_ready():
                return response.json({"error": "no model is loaded (run `make train`)"}, status=503)
            metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else None
            input_channel = body.get("input_channel") or self.name()
            collector = CollectingOutputChannel()
            message = UserMessage(text, collector, sender, input_channel=input_channel, metadata=metadata)
            # the NLU pipeline reads only the message, so parsing before the conversation's lock is the
            # same parse Rasa would make inside it
            parse: Dict[str, Any] = await agent.processor.parse_message(message)
            message.parse_data = parse
            await on_new_message(message)
            return response.json({"messages": collector.messages, "reading": reading_from_parse(parse)})

        return webhook
