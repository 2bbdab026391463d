"""Console and dashboard security: login throttling and lockout, passwords checked off the database thread,
sessions that end everywhere (logout, a new password, disabling), no tokens in URLs, Secure cookies behind
HTTPS, the Origin check on state-changing requests, and the audit log."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid

import pytest
import redis
from aiohttp import WSMsgType

import bot.gateway.console_accounts as console_accounts
from bot.gateway.keys import AUDIT, HANDOFF, HUB
from handoff.escalation import Escalation
from tests.gateway.conftest import receive_until
from tests.gateway.test_replicas import shared_config  # noqa: F401 - a fixture

PASSWORD = "secret-pass-1"


def add_agent(client, username: str, role: str = "agent", online: bool = True):
    directory = client.server.app[HANDOFF].directory
    agent = directory.add(username, username, PASSWORD, role)
    if online:
        directory.touch(agent.id)
    return agent


async def login(client, username: str, password: str = PASSWORD, **headers):
    return await client.post("/console/api/login", json={"username": username, "password": password},
                             headers=headers)


async def bearer(client, username: str) -> dict:
    response = await login(client, username)
    assert response.status == 200, await response.text()
    return {"Authorization": f"Bearer {(await response.json())['token']}"}


async def open_ticket(client) -> int:
    """A waiting ticket, straight through the handoff service (no customer socket needed)."""
    conversation_id = await client.server.app[HUB].start_conversation({})
    ticket = await client.server.app[HANDOFF].escalate(conversation_id, Escalation("request_human", "转人工", 10))
    return ticket.id


async def console_socket(client, headers: dict):
    ws = await client.ws_connect("/console/socket", headers=headers)
    await receive_until(ws, lambda f: f["type"] == "queue")
    return ws


async def closed_with(ws, timeout: float = 15.0) -> int:
    """The code of the server's close frame (frames before it are skipped)."""
    deadline = time.monotonic() + timeout
    while True:
        received = await ws.receive(timeout=max(0.01, deadline - time.monotonic()))
        if received.type == WSMsgType.CLOSE:
            return received.data
        assert received.type not in (WSMsgType.CLOSED, WSMsgType.ERROR), "dropped without a close frame"


@pytest.fixture
async def replicas(shared_config, make_client):  # noqa: F811
    """Two gateways on PostgreSQL and Redis. Redis outlives the test: the address 127.0.0.1 must never get
    locked there (other tests log in from it), and usernames are unique."""
    console = {"max_failures_per_address": 1_000_000, "lockout_minutes": 0.05}
    first = await make_client(shared_config, replica="gateway-a", console=console)
    second = await make_client(shared_config, replica="gateway-b", console=console)
    yield first, second
    redis.Redis.from_url(shared_config.redis_url).delete("shop:login:fail:addr:127.0.0.1")


# -- throttling and lockout ------------------------------------------------------------------------------

async def test_repeated_failures_lock_the_username_even_for_the_right_password_until_the_lock_expires(
        make_client, gateway_config):
    # 12 s: long enough for the steps below on a loaded machine
    client = await make_client(gateway_config, console={"lockout_minutes": 0.2})
    add_agent(client, "li")
    for _ in range(4):
        assert (await login(client, "li", "wrong-password")).status == 401
    locked = await login(client, "li", "wrong-password")
    body = await locked.json()
    assert locked.status == 429 and body["error"] == "too_many_attempts"
    assert body["message"] == "登录尝试过多，请 1 分钟后再试" and int(locked.headers["Retry-After"]) >= 1
    right = await login(client, "li")
    assert right.status == 429, "the right password is refused during the lockout"
    assert (await login(client, "ghost", "wrong-password")).status == 401, "another username is not locked"
    await asyncio.sleep(12.5)
    assert (await login(client, "li")).status == 200, "the lock expires"


async def test_guesses_sent_all_at_once_are_checked_one_after_another_up_to_the_lockout(
        make_client, gateway_config, monkeypatch):
    """Twenty guesses at once for one username: only the first five are checked; before, every guess passed the
    lockout check before the first failure was counted."""
    client = await make_client(gateway_config)
    add_agent(client, "li")
    checked = []
    real = console_accounts.verify_login
    monkeypatch.setattr(console_accounts, "verify_login",
                        lambda found, password: checked.append(password) or real(found, password))
    answers = await asyncio.gather(*(login(client, "li", f"guess-{n}") for n in range(20)))
    assert len(checked) == 5
    assert sorted(a.status for a in answers) == [401] * 4 + [429] * 16


async def test_failures_from_one_address_lock_the_address_across_usernames(make_client, gateway_config):
    client = await make_client(gateway_config, console={"max_failures_per_address": 3})
    add_agent(client, "li")
    for name in ("a1", "a2"):
        assert (await login(client, name, "wrong-password")).status == 401
    assert (await login(client, "a3", "wrong-password")).status == 429
    assert (await login(client, "li")).status == 429, "every username from that address is refused"


async def test_the_lockout_is_shared_by_gateway_replicas_through_redis(replicas):
    first, second = replicas
    username = "u" + uuid.uuid4().hex[:10]  # Redis outlives the test: a name no other test uses
    add_agent(first, username)
    for _ in range(5):
        await login(first, username, "wrong-password")
    assert (await login(second, username)).status == 429, "the other replica sees the lock"
    await asyncio.sleep(3.2)
    assert (await login(second, username)).status == 200, "and it expires in Redis"


async def test_an_unknown_username_costs_a_verification_like_a_known_one(client, monkeypatch):
    add_agent(client, "li")
    verified = []
    real = console_accounts.verify_login
    monkeypatch.setattr(console_accounts, "verify_login",
                        lambda found, password: verified.append(found.password_hash) or real(found, password))
    assert (await login(client, "ghost", "wrong-password")).status == 401
    assert (await login(client, "li", "wrong-password")).status == 401
    assert len(verified) == 2 and all(h.startswith("$argon2id$v=19$m=19456,t=2,p=1$") for h in verified)


# -- hashing off the database thread ----------------------------------------------------------------------

async def test_passwords_are_checked_in_their_own_threads_and_the_database_thread_stays_free(client, monkeypatch):
    add_agent(client, "li")
    threads = []
    real = console_accounts.verify_login

    def slow_verify(found, password):
        threads.append(threading.current_thread().name)
        time.sleep(0.8)  # a hash this slow must not hold up anything else
        return real(found, password)

    monkeypatch.setattr(console_accounts, "verify_login", slow_verify)
    logins = [asyncio.ensure_future(login(client, "li", "wrong-password")) for _ in range(4)]
    await asyncio.sleep(0.2)
    started = time.monotonic()
    await client.server.app[HUB].run_blocking(lambda: None)  # what every customer's hello waits for
    # one hash here takes 0.8 s: on the database thread, this hop would wait for at least one
    assert time.monotonic() - started < 0.7, "the database thread is not busy hashing"
    assert all(r.status == 401 for r in await asyncio.gather(*logins))
    assert threads and all(name.startswith("password-hash") for name in threads)


async def test_logins_beyond_the_waiting_limit_are_refused_at_once(make_client, gateway_config, monkeypatch):
    client = await make_client(gateway_config, console={"hash_threads": 1, "hash_queue_limit": 2})
    add_agent(client, "li")
    real = console_accounts.verify_login
    monkeypatch.setattr(console_accounts, "verify_login",
                        lambda found, password: time.sleep(2.0) or real(found, password))
    answers = await asyncio.gather(*(login(client, f"user{n}", "wrong-password") for n in range(4)))
    statuses = sorted(answer.status for answer in answers)
    assert statuses == [401, 401, 429, 429]
    busy = next(answer for answer in answers if answer.status == 429)
    assert (await busy.json())["error"] == "busy"


# -- sessions end everywhere ---------------------------------------------------------------------------------

async def test_logout_closes_the_sessions_socket_takes_the_agent_offline_and_requeues_its_tickets(client):
    add_agent(client, "li")
    headers = await bearer(client, "li")
    ticket_id = await open_ticket(client)
    taken = await client.post("/console/api/tickets/next", headers=headers)
    assert (await taken.json())["id"] == ticket_id
    ws = await console_socket(client, headers)
    assert (await client.post("/console/api/logout", headers=headers)).status == 204
    assert await closed_with(ws) == 4001
    assert (await client.get("/console/api/me", headers=headers)).status == 401
    service = client.server.app[HANDOFF]
    assert await service.agents_online() == 0
    assert (await service.get(ticket_id)).status == "waiting", "the customer goes back to the queue at once"


async def test_a_password_change_ends_every_other_session_and_keeps_this_browser_logged_in(client):
    add_agent(client, "li")
    old = await bearer(client, "li")
    elsewhere = await bearer(client, "li")
    ws = await console_socket(client, elsewhere)
    wrong = await client.post("/console/api/password", headers=old,
                              json={"old_password": "wrong-password", "new_password": "new-secret-2"})
    assert wrong.status == 403 and (await wrong.json())["error"] == "wrong_password"
    short = await client.post("/console/api/password", headers=old,
                              json={"old_password": PASSWORD, "new_password": "short"})
    assert short.status == 400
    changed = await client.post("/console/api/password", headers=old,
                                json={"old_password": PASSWORD, "new_password": "new-secret-2"})
    assert changed.status == 200 and "console_session=" in changed.headers["Set-Cookie"]
    assert await closed_with(ws) == 4001
    for headers in (old, elsewhere):
        assert (await client.get("/console/api/me", headers=headers)).status == 401
    fresh = {"Authorization": f"Bearer {(await changed.json())['token']}"}
    assert (await client.get("/console/api/me", headers=fresh)).status == 200
    assert (await login(client, "li")).status == 401
    assert (await login(client, "li", "new-secret-2")).status == 200


async def test_a_supervisor_disables_and_enables_an_account(client):
    add_agent(client, "li")
    add_agent(client, "boss", role="supervisor")
    li, boss = await bearer(client, "li"), await bearer(client, "boss")
    ticket_id = await open_ticket(client)
    await client.post("/console/api/tickets/next", headers=li)
    ws = await console_socket(client, li)
    refused = await client.post("/dashboard/api/accounts/boss/disable", headers=li)
    assert refused.status == 403, "agents cannot disable accounts"
    disabled = await client.post("/dashboard/api/accounts/li/disable", headers=boss)
    assert disabled.status == 200 and (await disabled.json())["disabled"] is True
    assert await closed_with(ws) == 4001
    assert (await client.get("/console/api/me", headers=li)).status == 401
    again = await login(client, "li")
    assert again.status == 403 and (await again.json())["error"] == "account_disabled"
    assert (await client.server.app[HANDOFF].get(ticket_id)).status == "waiting"
    listed = await (await client.get("/dashboard/api/accounts", headers=boss)).json()
    assert {a["username"]: a["disabled"] for a in listed["accounts"]} == {"boss": False, "li": True}
    assert (await client.post("/dashboard/api/accounts/boss/disable", headers=boss)).status == 400
    assert (await client.post("/dashboard/api/accounts/ghost/disable", headers=boss)).status == 404
    assert (await client.post("/dashboard/api/accounts/li/enable", headers=boss)).status == 200
    assert (await login(client, "li")).status == 200


async def test_disabling_on_one_replica_closes_the_consoles_on_the_other(replicas):
    first, second = replicas
    username = "u" + uuid.uuid4().hex[:10]
    add_agent(first, username)
    add_agent(first, "boss" + username[1:], role="supervisor")
    ws = await console_socket(second, await bearer(second, username))
    boss = await bearer(first, "boss" + username[1:])
    assert (await first.post(f"/dashboard/api/accounts/{username}/disable", headers=boss)).status == 200
    assert await closed_with(ws, timeout=5) == 4001


async def test_a_session_ended_from_the_command_line_closes_its_console_at_the_next_heartbeat(client, monkeypatch):
    import bot.gateway.console_socket as console_socket_module

    monkeypatch.setattr(console_socket_module, "HEARTBEAT_SECONDS", 0.2)
    add_agent(client, "li")
    ws = await console_socket(client, await bearer(client, "li"))
    client.server.app[HANDOFF].directory.set_password("li", "changed-by-admin")  # what `accounts password` does
    assert await closed_with(ws) == 4001


# -- no tokens in URLs; the socket authenticates by cookie or first frame ----------------------------------

async def test_tokens_in_the_query_string_are_refused(client):
    add_agent(client, "li")
    token = (await (await login(client, "li")).json())["token"]
    client.session.cookie_jar.clear()
    for path in ("/console/api/me", "/dashboard/api/summary", "/console/socket"):
        refused = await client.get(f"{path}?token={token}")
        assert refused.status == 400 and (await refused.json())["error"] == "token_in_url", path


async def test_the_socket_authenticates_by_its_first_frame_without_a_cookie(client):
    add_agent(client, "li")
    token = (await (await login(client, "li")).json())["token"]
    client.session.cookie_jar.clear()
    ws = await client.ws_connect("/console/socket")
    await ws.send_json({"type": "auth", "token": token})
    assert (await receive_until(ws, lambda f: f["type"] == "queue"))[-1]["waiting"] == []
    forged = await client.ws_connect("/console/socket")
    await forged.send_json({"type": "auth", "token": "forged"})
    assert await closed_with(forged) == 4001


# -- Secure cookies behind HTTPS --------------------------------------------------------------------------------

async def test_the_cookie_is_secure_when_a_trusted_proxy_says_https(make_client, gateway_config):
    client = await make_client(gateway_config)
    add_agent(client, "li")
    plain = await login(client, "li")
    assert "Secure" not in plain.headers["Set-Cookie"] and "HttpOnly" in plain.headers["Set-Cookie"]
    proxied = await login(client, "li", **{"X-Forwarded-Proto": "https"})
    assert "Secure" in proxied.headers["Set-Cookie"]
    untrusted = await make_client(gateway_config, trusted_proxies="10.9.9.9")  # same database: li exists
    forged = await login(untrusted, "li", **{"X-Forwarded-Proto": "https"})
    assert "Secure" not in forged.headers["Set-Cookie"], "only a trusted proxy is believed"


# -- Origin check -----------------------------------------------------------------------------------------------------

async def test_state_changing_requests_from_another_site_are_refused(make_client, gateway_config):
    client = await make_client(gateway_config, console={"allowed_origins": "https://admin.example.com"})
    add_agent(client, "li")
    add_agent(client, "boss", role="supervisor")
    own = f"http://{client.host}:{client.port}"
    evil = await login(client, "li", Origin="https://evil.example")
    assert evil.status == 403 and (await evil.json())["error"] == "cross_origin"
    assert (await login(client, "li", Referer="https://evil.example/page")).status == 403
    assert (await login(client, "li", Origin="null")).status == 403
    assert (await login(client, "li", Origin=own)).status == 200
    assert (await login(client, "li", Referer=own + "/console")).status == 200
    assert (await login(client, "li", Origin="https://admin.example.com")).status == 200
    boss = await bearer(client, "boss")
    forged = await client.post("/dashboard/api/accounts/li/disable", headers={**boss, "Origin": "https://evil.example"})
    assert forged.status == 403
    next_ticket = await client.post("/console/api/tickets/next", headers={**boss, "Origin": "https://evil.example"})
    assert next_ticket.status == 403
    with pytest.raises(Exception) as refused:
        await client.ws_connect("/console/socket", headers={**boss, "Origin": "https://evil.example"})
    assert "403" in str(refused.value)
    # reading is not state-changing; the widget's shop sites are not the console's
    assert (await client.get("/console/api/me", headers={**boss, "Origin": "https://evil.example"})).status == 200
    shop = await login(client, "li", Origin="https://shop.example.com")
    assert shop.status == 403


# -- the audit log -----------------------------------------------------------------------------------------------------

async def test_transcript_reads_and_exports_are_audited_and_shown_to_supervisors(client):
    add_agent(client, "li")
    add_agent(client, "boss", role="supervisor")
    li, boss = await bearer(client, "li"), await bearer(client, "boss")
    ticket_id = await open_ticket(client)
    await client.post("/console/api/tickets/next", headers=li)
    assert (await client.get(f"/console/api/tickets/{ticket_id}", headers=boss)).status == 200
    export = await client.get("/dashboard/api/export.csv?from=2026-01-01&to=2026-01-31", headers=boss)
    assert export.status == 200
    assert (await client.get("/dashboard/api/audit", headers=li)).status == 403
    entries = (await (await client.get("/dashboard/api/audit", headers=boss)).json())["entries"]
    seen = [(e["username"], e["action"], e["target"]) for e in entries]
    assert seen[0][:2] == ("boss", "export_csv") and "2026-01-01" in seen[0][2]
    assert ("boss", "read_transcript", f"ticket:{ticket_id}") in seen
    assert ("li", "read_transcript", f"ticket:{ticket_id}") in seen
    stored = await client.server.app[HUB].run_blocking(client.server.app[AUDIT].recent)
    assert "转人工" not in str(stored), "no customer text in the audit log"
    older = await client.get(f"/dashboard/api/audit?before={entries[0]['id']}&limit=1", headers=boss)
    assert [e["id"] for e in (await older.json())["entries"]] == [entries[1]["id"]]
    assert (await client.get("/dashboard/api/audit?before=99999999999999999999999", headers=boss)).status == 400



async def test_account_changes_and_order_views_are_audited_too(client):
    add_agent(client, "li")
    add_agent(client, "wang")
    add_agent(client, "boss", role="supervisor")
    li, boss = await bearer(client, "li"), await bearer(client, "boss")
    ticket_id = await open_ticket(client)
    await client.post("/console/api/tickets/next", headers=li)
    assert (await client.get(f"/console/api/tickets/{ticket_id}/orders", headers=li)).status == 200
    assert (await client.post("/dashboard/api/accounts/wang/disable", headers=boss)).status == 200
    assert (await client.post("/dashboard/api/accounts/wang/enable", headers=boss)).status == 200
    changed = await client.post("/console/api/password", headers=li,
                                json={"old_password": PASSWORD, "new_password": "another-pass-2"})
    assert changed.status == 200
    entries = (await (await client.get("/dashboard/api/audit", headers=boss)).json())["entries"]
    seen = {(e["username"], e["action"], e["target"]) for e in entries}
    assert {("li", "read_orders", f"ticket:{ticket_id}"), ("boss", "disable_account", "account:wang"),
            ("boss", "enable_account", "account:wang"), ("li", "change_password", "account:li")} <= seen
