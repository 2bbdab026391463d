"""Who may do what: every role against every customer, console and dashboard endpoint, expected against measured.

One gateway runs in this process on a fresh SQLite file (the bot is not needed: nothing here asks it). The roles:
a visitor with no credential, another customer (their own conversation's resume token), the conversation's owner
(its resume token), an agent the ticket is not assigned to, the assigned agent, and a supervisor. Agents and the
supervisor know the conversation's public id (the queue shows it) and present their console login; customers
present their resume token. A check measures "allow" for a 2xx answer (for a hello: the conversation resumed) and
"deny" for anything else. `bench.access_matrix` prints the table; tests/gateway/test_access_matrix.py requires every
measured cell to be the expected one.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional, Sequence

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from bot.gateway.app import create_app
from bot.gateway.config import GatewayConfig
from bot.gateway.keys import HANDOFF
from handoff.escalation import Escalation

ROLES = ("anonymous", "customer_other", "customer_owner", "agent_other", "agent_assigned", "supervisor")
ALLOW, DENY = "allow", "deny"
PASSWORD = "access-matrix-pass-1"
# the gateway's own origin is allowed; a forged page elsewhere is not
FOREIGN_ORIGIN = "https://evil.example.net"


@dataclass
class Cell:
    """One role at one endpoint."""

    check: str
    role: str
    expected: str
    measured: str
    status: str

    @property
    def matches(self) -> bool:
        return self.expected == self.measured


@dataclass
class World:
    """What the checks act on: the owner's conversation and its ticket, and every role's credential."""

    client: TestClient
    conversation: str
    ticket: int
    spare_conversation: str
    console_tokens: Dict[str, str]
    resume_tokens: Dict[str, str]

    def console_headers(self, role: str) -> Dict[str, str]:
        token = self.console_tokens.get(role)
        return {"Authorization": f"Bearer {token}"} if token else {}

    def customer_headers(self, role: str) -> Dict[str, str]:
        token = self.resume_tokens.get(role)
        headers = {"X-Resume-Token": token} if token else {}
        # staff try the customer's channel with what they have: their console login
        return {**headers, **self.console_headers(role)}


Check = Callable[[World, str], Awaitable[str]]


def _outcome(response: ClientResponse) -> str:
    return ALLOW if 200 <= response.status < 300 else DENY


async def _status(response: ClientResponse) -> str:
    await response.read()
    return f"{_outcome(response)} ({response.status})"


async def hello_resumes(world: World, role: str) -> str:
    """The customer socket's hello naming the owner's conversation (with the role's resume token, if any)."""
    ws = await world.client.ws_connect("/chat/socket", headers=world.console_headers(role))
    hello: Dict[str, Any] = {"type": "hello", "session_id": world.conversation}
    if role in world.resume_tokens:
        hello["resume_token"] = world.resume_tokens[role]
    await ws.send_json(hello)
    while True:
        frame = json.loads((await ws.receive(timeout=5)).data)
        if frame.get("type") in ("welcome", "error"):
            break
    await ws.close()
    resumed = frame.get("type") == "welcome" and frame.get("session_id") == world.conversation
    return f"{ALLOW if resumed else DENY} ({frame.get('type')})"


async def customer_message(world: World, role: str) -> str:
    response = await world.client.post(
        "/chat/api/messages", headers=world.customer_headers(role),
        json={"session_id": world.conversation, "client_id": f"matrix-{role}", "text": "我的订单到哪了"})
    return await _status(response)


async def customer_history(world: World, role: str) -> str:
    response = await world.client.get(
        "/chat/api/events", params={"session_id": world.conversation, "after": "0"},
        headers=world.customer_headers(role))
    return await _status(response)


def console_get(path: str) -> Check:
    async def check(world: World, role: str) -> str:
        url = path.format(ticket=world.ticket, conversation=world.conversation)
        response = await world.client.get(url, headers=world.console_headers(role))
        return await _status(response)
    return check


def console_post(path: str, body: Dict[str, Any], origin: Optional[str] = None) -> Check:
    async def check(world: World, role: str) -> str:
        headers = world.console_headers(role)
        if origin:
            headers["Origin"] = origin
        names = {"ticket": world.ticket, "spare": world.spare_conversation}
        filled = {k: v.format(**names) if isinstance(v, str) else v for k, v in body.items()}
        response = await world.client.post(path.format(**names), json=filled, headers=headers)
        return await _status(response)
    return check


async def token_in_url(world: World, role: str) -> str:
    """A console token in the query string instead of a header or cookie."""
    token = world.console_tokens.get(role, "")
    response = await world.client.get("/console/api/queue", params={"token": token})
    return await _status(response)


async def token_after_logout(world: World, role: str) -> str:
    """A console token used again after its own logout (customers have none: they try the old-token path anyway)."""
    username = USERNAMES.get(role)
    token = ""
    if username:
        login = await world.client.post("/console/api/login", json={"username": username, "password": PASSWORD})
        token = (await login.json())["token"]
        await (await world.client.post("/console/api/logout",
                                       headers={"Authorization": f"Bearer {token}"})).read()
    response = await world.client.get("/console/api/me", headers={"Authorization": f"Bearer {token}"})
    return await _status(response)


USERNAMES = {"agent_other": "agent_b", "agent_assigned": "agent_a", "supervisor": "supervisor"}
STAFF = ("agent_other", "agent_assigned", "supervisor")
TICKET_READERS = ("agent_assigned", "supervisor")


def _only(*roles: str) -> Dict[str, str]:
    return {role: ALLOW if role in roles else DENY for role in ROLES}


# (check, endpoint, who may): the order matters only for the last ones, which change what they act on
CHECKS: Sequence[tuple] = (
    ("customer: hello resumes the conversation", hello_resumes, _only("customer_owner")),
    ("customer: POST /chat/api/messages", customer_message, _only("customer_owner")),
    ("customer: GET /chat/api/events (transcript)", customer_history, _only("customer_owner")),
    ("console: GET /console/api/queue", console_get("/console/api/queue"), _only(*STAFF)),
    ("console: GET /console/api/tickets/{id} (transcript)", console_get("/console/api/tickets/{ticket}"),
     _only(*TICKET_READERS)),
    ("console: GET /console/api/tickets/{id}/orders", console_get("/console/api/tickets/{ticket}/orders"),
     _only(*TICKET_READERS)),
    ("console: POST /console/api/tickets/{id}/messages",
     console_post("/console/api/tickets/{ticket}/messages", {"text": "您好，我来帮您看看"}), _only("agent_assigned")),
    ("console: POST .../messages from a foreign origin",
     console_post("/console/api/tickets/{ticket}/messages", {"text": "伪造"}, FOREIGN_ORIGIN), _only()),
    ("console: token in the URL", token_in_url, _only()),
    ("console: token after its logout", token_after_logout, _only()),
    ("dashboard: GET /dashboard/api/summary", console_get("/dashboard/api/summary"), _only("supervisor")),
    ("dashboard: GET /dashboard/api/export.csv", console_get("/dashboard/api/export.csv"), _only("supervisor")),
    ("dashboard: GET /dashboard/api/audit", console_get("/dashboard/api/audit"), _only("supervisor")),
    ("dashboard: GET /dashboard/api/accounts", console_get("/dashboard/api/accounts"), _only("supervisor")),
    ("dashboard: GET /dashboard/api/privacy/actions", console_get("/dashboard/api/privacy/actions"),
     _only("supervisor")),
    ("dashboard: GET /dashboard/api/privacy/export",
     console_get("/dashboard/api/privacy/export?conversation_id={conversation}"), _only("supervisor")),
    ("dashboard: POST /dashboard/api/accounts/agent_c/disable",
     console_post("/dashboard/api/accounts/agent_c/disable", {}), _only("supervisor")),
    ("dashboard: POST /dashboard/api/privacy/erase",
     console_post("/dashboard/api/privacy/erase", {"conversation_id": "{spare}"}), _only("supervisor")),
)


async def _conversation(client: TestClient) -> Dict[str, Any]:
    ws = await client.ws_connect("/chat/socket")
    await ws.send_json({"type": "hello"})
    while True:
        frame = json.loads((await ws.receive(timeout=5)).data)
        if frame.get("type") == "welcome":
            await ws.close()
            return frame


async def _world(client: TestClient) -> World:
    directory = client.server.app[HANDOFF].directory
    for username, role in (("agent_a", "agent"), ("agent_b", "agent"), ("agent_c", "agent"),
                           ("supervisor", "supervisor")):
        agent = directory.add(username, username, PASSWORD, role)
        directory.touch(agent.id)
    console_tokens = {}
    for role, username in USERNAMES.items():
        response = await client.post("/console/api/login", json={"username": username, "password": PASSWORD})
        assert response.status == 200, f"login of {username} failed: {await response.text()}"
        console_tokens[role] = (await response.json())["token"]
    owner, other, spare = [await _conversation(client) for _ in range(3)]
    said = await client.post("/chat/api/messages", headers={"X-Resume-Token": spare["resume_token"]},
                             json={"session_id": spare["session_id"], "client_id": "spare-1", "text": "在吗"})
    assert said.status == 200, f"the spare conversation's message was refused: {await said.text()}"
    ticket = await client.server.app[HANDOFF].escalate(owner["session_id"], Escalation("request_human", "转人工", 10))
    taken = await client.post(f"/console/api/tickets/{ticket.id}/take",
                              headers={"Authorization": f"Bearer {console_tokens['agent_assigned']}"})
    assert taken.status == 200, f"agent_a could not take ticket {ticket.id}: {await taken.text()}"
    return World(client, owner["session_id"], ticket.id, spare["session_id"], console_tokens,
                 {"customer_owner": owner["resume_token"], "customer_other": other["resume_token"]})


async def measure(config: Optional[GatewayConfig] = None) -> List[Cell]:
    """Runs every check for every role on a fresh gateway; `config` defaults to one on a temporary SQLite file."""
    with tempfile.TemporaryDirectory(prefix="shop-access-") as work:
        config = config or GatewayConfig(
            rasa_url="http://127.0.0.1:9", database_url=f"sqlite:///{Path(work) / 'access.db'}",
            identity={"secret": "access-matrix-secret"},
            handoff={"hours": "00:00-23:59:59", "days": "mon-sun", "holidays": [], "agent_timeout_seconds": 600},
        )
        client = TestClient(TestServer(create_app(replace(config))))
        await client.start_server()
        try:
            world = await _world(client)
            cells = []
            for name, check, expected in CHECKS:
                for role in ROLES:
                    # a role's requests carry only its own credential, never a cookie an earlier login left
                    client.session.cookie_jar.clear()
                    status = await check(world, role)
                    cells.append(Cell(name, role, expected[role], status.split(" ")[0], status))
            return cells
        finally:
            await client.close()


def format_table(cells: Sequence[Cell]) -> List[str]:
    """Markdown rows: one per check, one column per role, 'allow'/'deny' with a mark where measured differs."""
    lines = ["| check | " + " | ".join(ROLES) + " |", "| --- |" + " --- |" * len(ROLES)]
    for name in dict.fromkeys(c.check for c in cells):
        row = {c.role: c for c in cells if c.check == name}
        lines.append(f"| {name} | " + " | ".join(
            row[r].expected if row[r].matches else f"**{row[r].measured}, expected {row[r].expected}**"
            for r in ROLES) + " |")
    wrong = sum(1 for c in cells if not c.matches)
    lines.append(f"\n{len(cells)} cells, {len(cells) - wrong} as expected, {wrong} not")
    return lines
