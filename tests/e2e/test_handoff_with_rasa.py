"""A conversation from its first message to escalation, an agent's reply, resolution and a rating,
with the real Rasa server, action server and gateway; the agent account made with the accounts command."""

from __future__ import annotations

import subprocess
import sys

import aiohttp
import pytest

from core.customer_identity import signed_claim
from evaluation.live_stack import STACK_IDENTITY_SECRET
from tests.conftest import ROOT
from tests.gateway.conftest import receive_until

pytestmark = pytest.mark.slow


def make_account(stack, username: str, name: str, password: str = "agent-pass-123") -> None:
    result = subprocess.run(
        [sys.executable, "-m", "handoff.accounts", "add", username, "--name", name, "--password-stdin"],
        input=password + "\n", cwd=ROOT, env=stack.env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert f"Created agent {username}" in result.stdout


def is_bot(frame) -> bool:
    return frame["type"] == "message" and frame["sender"] == "bot"


async def test_from_first_message_to_a_person_and_back_to_the_bot(stack):
    make_account(stack, "e2e-li", "小李")
    again = subprocess.run(
        [sys.executable, "-m", "handoff.accounts", "add", "e2e-li", "--password-stdin"],
        input="agent-pass-123\n", cwd=ROOT, env=stack.env, capture_output=True, text=True, timeout=60,
    )
    assert again.returncode == 1 and "already exists" in again.stderr
    base = stack.gateway_url
    # unsafe=True: keep cookies from an IP address (127.0.0.1), as browsers do
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as agent_http, \
            aiohttp.ClientSession() as customer_http:
        login = await agent_http.post(f"{base}/console/api/login",
                                      json={"username": "e2e-li", "password": "agent-pass-123"})
        assert login.status == 200
        console = await agent_http.ws_connect(f"{base}/console/socket")  # the agent is now online
        await receive_until(console, lambda f: f["type"] == "queue")

        ws = await customer_http.ws_connect(f"{base}/chat/socket")
        await ws.send_json({"type": "hello", "identity": signed_claim(STACK_IDENTITY_SECRET, "C42", "gold")})
        session_id = (await receive_until(ws, lambda f: f["type"] == "welcome"))[-1]["session_id"]
        await ws.send_json({"type": "message", "client_id": "1", "text": "退款多久能到账"})
        await receive_until(ws, is_bot, timeout=30)
        await ws.send_json({"type": "message", "client_id": "2", "text": "我要找人工客服"})
        frames = await receive_until(ws, lambda f: f["type"] == "queue", timeout=30)
        assert any(is_bot(f) and "已为您转接人工客服" in f["text"] for f in frames)

        # other tests may have left customers waiting: find this one's ticket and take exactly it
        queue = (await receive_until(console, lambda f: f["type"] == "queue"
                                     and any(t["customer_id"] == "C42" for t in f["waiting"])))[-1]
        waiting = next(t for t in queue["waiting"] if t["customer_id"] == "C42")
        taken = await agent_http.post(f"{base}/console/api/tickets/{waiting['id']}/take")
        assert taken.status == 200
        ticket = await taken.json()
        again = await agent_http.post(f"{base}/console/api/tickets/{waiting['id']}/take")
        assert again.status == 409 and (await again.json())["error"] == "not_waiting"
        readings = [line.get("reading") for line in ticket["transcript"] if line["sender"] == "customer"]
        # the bot's reading of the question, stored with it when the bot's answer arrived
        assert readings[0]["intent"] == "faq/refund_arrival_time"
        assert readings[0]["kb_shown"][0] == "refund_arrival_time"
        # the explicit ask was the gateway's to decide, so Rasa never read it
        assert readings[1] is None
        assert ticket["reason"] == "request_human" and "人工客服" in ticket["reason_detail"]

        await ws.send_json({"type": "message", "client_id": "3", "text": "我的退款三天了还没到"})
        pushed = await receive_until(console, lambda f: f["type"] == "message"
                                     and f["message"]["text"] == "我的退款三天了还没到")
        assert pushed[-1]["ticket_id"] == ticket["id"]
        reply = await agent_http.post(f"{base}/console/api/tickets/{ticket['id']}/messages",
                                      json={"text": "我帮您查一下退款进度"})
        assert reply.status == 201
        frames = await receive_until(ws, lambda f: f["type"] == "message" and f["sender"] == "agent")
        assert frames[-1]["agent"] == {"name": "小李"}
        # Rasa never heard what the customer told the agent
        async with customer_http.get(stack.rasa_api(f"/conversations/{session_id}/tracker")) as response:
            heard = [e.get("text") for e in (await response.json())["events"] if e["event"] == "user"]
        assert "退款多久能到账" in heard and "我的退款三天了还没到" not in heard

        await agent_http.post(f"{base}/console/api/tickets/{ticket['id']}/resolve", json={"note": "已催财务"})
        rating = (await receive_until(ws, lambda f: f["type"] == "rating_request"))[-1]
        await ws.send_json({"type": "rating", "ticket_id": rating["ticket_id"], "score": 4, "comment": "还行"})
        await receive_until(ws, lambda f: is_bot(f) and "感谢您的评价" in f["text"])

        # the bot is back: a FAQ question gets its knowledge-base answer again
        await ws.send_json({"type": "message", "client_id": "4", "text": "发什么快递"})
        frames = await receive_until(ws, lambda f: is_bot(f) and "快递" in f["text"], timeout=30)
        view = await (await agent_http.get(f"{base}/console/api/tickets/{ticket['id']}")).json()
        assert view["rating"] == 4 and view["rating_comment"] == "还行" and view["resolution_note"] == "已催财务"
        await console.close()
