"""Gateway fixtures: the gateway app on aiohttp's test server, in front of a stand-in Rasa whose behaviour
each test sets (answer, be slow, be down, answer nothing). Tests with the real Rasa are in tests/e2e/."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field, replace
from typing import Any, Dict, List

import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestClient, TestServer

from bot.gateway.address_limits import KINDS as ADDRESS_LIMIT_KINDS
from bot.gateway.app import create_app
from bot.gateway.config import GatewayConfig
from core.customer_identity import signed_claim
from core.reading import reading_from_parse


@dataclass
class StandInRasa:
    """Speaks Rasa's gateway channel (bot/rasa_channel.py): echoes the text with a reading, offers a button
    when asked, or misbehaves on request. Its tracker API counts requests: the gateway should make none."""

    mode: str = "answer"  # answer | slow | error | silent
    delay: float = 0.0
    received: List[Dict[str, Any]] = field(default_factory=list)
    parses: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    tracker_requests: int = 0

    async def tracker(self, request: web.Request) -> web.Response:
        """Rasa's tracker API: the latest message's parse."""
        sender = request.match_info["sender"]
        self.tracker_requests += 1
        return web.json_response({"sender_id": sender, "latest_message": self.parses.get(sender, {}), "events": []})

    async def webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.received.append(body)
        if self.mode == "slow":
            await asyncio.sleep(self.delay)
        if self.mode == "error":
            return web.Response(status=500, text="boom")
        if self.mode == "silent":
            return web.json_response({"messages": [], "reading": None})
        sender, text = body["sender"], body["message"]
        entities = [{"entity": "phone_number", "value": "13800138000"}] if "13800138000" in text else []
        self.parses[sender] = {
            "text": text, "intent": {"name": "faq", "confidence": 0.91}, "entities": entities,
            "response_selector": {"faq": {"response": {"intent_response_key": "faq/refund_arrival_time"}}},
        }
        # what the real NLU reads as request_human, and the gateway's words for a person do not catch
        if "能让别人来处理吗" in text:
            intent = {"name": "request_human", "confidence": 0.98}
            self.parses[sender] = {"text": text, "intent": intent, "entities": []}
            # what actions/escalate.py sends: a handoff request
            handoff = {"reason": "request_human", "detail": "意图 request_human：能让别人来处理吗", "priority": 10}
            return self._answer(sender, [{"recipient_id": sender, "custom": {"handoff": handoff}}])
        if "投诉" in text:  # a complaint: actions/escalate.py hands it over
            self.parses[sender] = {"text": text, "intent": {"name": "complaint", "confidence": 0.93}, "entities": []}
            handoff = {"reason": "complaint", "detail": "意图 complaint", "priority": 20}
            return self._answer(sender, [{"recipient_id": sender, "custom": {"handoff": handoff}}])
        if "闲聊" in text:  # a response straight from domain.yml: no action, no report
            self.parses[sender] = {"text": text, "intent": {"name": "greet", "confidence": 0.88}, "entities": []}
            return self._answer(sender, [{"recipient_id": sender, "text": "您好！"}])
        replies: List[Dict[str, Any]] = [
            {"recipient_id": sender, "text": f"收到：{text}"},
            # what actions/answer_faq.py adds for the event log
            {"recipient_id": sender, "custom": {"analytics": {"event": "bot_answer", "kb_key": "refund_arrival_time"}}},
        ]
        if "按钮" in text:
            replies.append(
                {
                    "recipient_id": sender,
                    "text": "您是想问？",
                    "buttons": [{"title": "退款多久到账？", "payload": '/faq{"faq_key":"refund_arrival_time"}'}],
                }
            )
        return self._answer(sender, replies)

    def _answer(self, sender: str, replies: List[Dict[str, Any]]) -> web.Response:
        return web.json_response({"messages": replies, "reading": reading_from_parse(self.parses[sender])})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/webhooks/gateway/webhook", self.webhook)
        app.router.add_get("/", lambda request: web.json_response({"hello": "rasa"}))
        app.router.add_get("/conversations/{sender}/tracker", self.tracker)
        return app


@pytest.fixture
async def stand_in_rasa():
    rasa = StandInRasa()
    server = TestServer(rasa.app())
    await server.start_server()
    rasa.url = f"http://127.0.0.1:{server.port}"
    yield rasa
    await server.close()


# the secret the test shop signs its customers with (GatewayConfig.identity)
SHOP_SECRET = "test-shop-secret"


def signed(customer_id: str, tier: str = "") -> Dict[str, Any]:
    """A hello's `identity`: the customer as the test shop's server signs them."""
    return signed_claim(SHOP_SECRET, customer_id, tier)


@pytest.fixture
def gateway_config(stand_in_rasa, tmp_path) -> GatewayConfig:
    return GatewayConfig(
        rasa_url=stand_in_rasa.url,
        database_url=f"sqlite:///{tmp_path / 'gateway.db'}",
        allowed_origins=("https://shop.example.com",),
        bot_notice_after_seconds=0.3,
        bot_timeout_seconds=1.5,
        rate_limit_burst=5,
        rate_limit_per_minute=60,
        # every test customer comes from 127.0.0.1: the per-address limits are set where they are tested
        # (test_address_limits.py)
        **{f"address_{kind}_{field}": 1_000_000 for kind in ADDRESS_LIMIT_KINDS for field in ("burst", "per_minute")},
        escalation={"tiers": ["diamond"], "sensitive_intents": ["legal_threat"]},
        identity={"secret": SHOP_SECRET},
        # people answer around the clock in these tests, unless a test says otherwise
        handoff={"hours": "00:00-23:59:59", "days": "mon-sun", "holidays": [], "agent_timeout_seconds": 120},
    )


@pytest.fixture
async def make_client():
    """Builds test clients for given configs; closes them all at the end."""
    clients: List[TestClient] = []

    async def build(config: GatewayConfig, **changes: Any) -> TestClient:
        client = TestClient(TestServer(create_app(replace(config, **changes))))
        await client.start_server()
        clients.append(client)
        return client

    yield build
    for client in clients:
        await client.close()


@pytest.fixture
async def client(make_client, gateway_config) -> TestClient:
    return await make_client(gateway_config)


async def receive_until(ws, predicate, timeout: float = 5.0) -> List[Dict[str, Any]]:
    """Frames from `ws` up to and including the first one `predicate` accepts; fails after `timeout`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    frames: List[Dict[str, Any]] = []
    while True:
        remaining = deadline - loop.time()
        try:
            received = await ws.receive(timeout=max(remaining, 0.001))
        except asyncio.TimeoutError:
            raise AssertionError(f"no expected frame within {timeout} s; got {frames}") from None
        assert received.type == WSMsgType.TEXT, f"socket closed or sent {received.type}: {received.data}"
        frame = json.loads(received.data)
        frames.append(frame)
        if predicate(frame):
            return frames


async def open_conversation(client: TestClient, **hello: Any):
    """A WebSocket that has said hello; returns (ws, welcome frame)."""
    ws = await client.ws_connect("/chat/socket")
    await ws.send_json({"type": "hello", **hello})
    frames = await receive_until(ws, lambda f: f["type"] == "welcome")
    welcome = frames[-1]
    return ws, welcome


def bot_text(frames: List[Dict[str, Any]]) -> List[str]:
    return [f["text"] for f in frames if f["type"] == "message" and f["sender"] == "bot"]


def resuming(welcome: Dict[str, Any]) -> Dict[str, Any]:
    """The hello fields that resume the conversation of `welcome`: its id and its resume token."""
    return {"session_id": welcome["session_id"], "resume_token": welcome["resume_token"]}


def token_of(welcome: Dict[str, Any]) -> Dict[str, str]:
    """The header an HTTP call about the conversation of `welcome` carries (docs/chat-protocol.md)."""
    return {"X-Resume-Token": welcome["resume_token"]}
