"""Faults under load in the scaled setup: kill -9 of an action server, a Rasa process and a gateway replica, and a
restart of Redis and of PostgreSQL, each while customers talk through nginx (some asking for a person).

In every case, once it is over:
- every acknowledged message is stored once, and answered or handed over;
- every conversation that asked for a person has exactly one ticket;
- every acknowledged message got its answer, or word that the bot is slow or down, within 5 s (except on a
  killed gateway's sockets, whose customers reconnect);
- no message is answered twice.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Callable, List

import pytest
from sqlalchemy import select

from bot.gateway.store import ANSWERED, HANDED_OVER, TO_AGENT, messages
from core.db import create_database_engine
from handoff.accounts import AgentDirectory
from handoff.schema import tickets
from tests.scaled.customers import Customer

pytestmark = pytest.mark.slow

TEXTS = ["退款多久能到账", "怎么开发票", "运费谁出", "七天无理由怎么退", "优惠券怎么用", "保修多久"]
FINAL = (ANSWERED, TO_AGENT, HANDED_OVER)
RECOVERY_SECONDS = 90


def restart_postgres() -> None:
    version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[-1]
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"], check=True,
                   capture_output=True, timeout=120)


def restart_redis() -> None:
    subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", "6379", "shutdown", "nosave"], capture_output=True,
                   timeout=30)
    time.sleep(1)
    subprocess.run(["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379",
                    "--save", "", "--appendonly", "no", "--dir", "/var/lib/redis", "--logfile",
                    "/var/log/redis/ci.log"], check=True, capture_output=True, timeout=30)
    for _ in range(50):
        if subprocess.run(["redis-cli", "ping"], capture_output=True, text=True).stdout.strip() == "PONG":
            return
        time.sleep(0.2)
    raise RuntimeError("Redis did not come back")


def can_restart_services() -> bool:
    return os.geteuid() == 0 and shutil.which("pg_ctlcluster") is not None and shutil.which("redis-server") is not None


async def load_with_fault(scaled, fault: Callable[[], None], tmp_name: str) -> List[Customer]:
    """Twelve customers for about 25 s, three of them asking for a person; `fault` runs after 6 s."""
    stop_at = time.monotonic() + 25
    customers = [Customer(scaled.public_url.replace("http", "ws") + "/chat/socket", scaled.public_url,
                          f"{tmp_name}-{n}") for n in range(12)]
    runs = [asyncio.create_task(c.run(TEXTS[n % 6:] + TEXTS[:n % 6], 1.5, stop_at, handoff_at=4 if n < 3 else None))
            for n, c in enumerate(customers)]
    await asyncio.sleep(6)
    await asyncio.get_running_loop().run_in_executor(None, fault)
    await asyncio.gather(*runs)
    return customers


def check_recovered(scaled, customers: List[Customer], killed_gateway: str = "") -> None:
    engine = create_database_engine(scaled.database_url)
    acked = {item.acked_id: item for c in customers for item in c.sent if item.acked_id}
    assert len(acked) > 80, "the load should have gone on through the fault"
    deadline = time.monotonic() + RECOVERY_SECONDS
    while True:
        with engine.connect() as connection:
            rows = connection.execute(select(messages.c.id, messages.c.handling)
                                      .where(messages.c.id.in_(list(acked)))).all()
        unfinished = [row for row in rows if row.handling not in FINAL]
        if not unfinished or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert len(rows) == len(acked), "every acknowledged message is stored"
    assert unfinished == [], f"{len(unfinished)} messages were never answered or handed over"
    conversations = [c.session_id for c in customers]
    with engine.connect() as connection:
        stored = connection.execute(select(messages.c.conversation_id, messages.c.sender, messages.c.client_id,
                                           messages.c.extra).where(messages.c.conversation_id.in_(conversations))).all()
        opened = connection.execute(select(tickets.c.conversation_id, tickets.c.reason)
                                    .where(tickets.c.conversation_id.in_(conversations))).all()
    engine.dispose()
    # stored once: one row per client id (the database's unique constraint holds it), none lost
    client_ids = Counter((row.conversation_id, row.client_id) for row in stored if row.sender == "customer")
    assert max(client_ids.values()) == 1
    answered = Counter(row.extra.get("reply_to") for row in stored if row.sender == "bot" and row.extra.get("reply_to"))
    assert not [key for key, count in answered.items() if count > 1], "a message was answered twice"
    per_conversation = Counter(row.conversation_id for row in opened)
    for number, customer in enumerate(customers):
        if number < 3:
            assert per_conversation[customer.session_id] == 1, f"{customer.name}: one ticket for one request"
        else:
            assert per_conversation[customer.session_id] <= 1
    handling = {row.id: row.handling for row in rows}
    for customer in customers:
        on_killed = killed_gateway and killed_gateway in customer.gateways
        for item in customer.sent:
            # messages for a person are answered by people, in their time; the bot's are checked here
            if item.acked_id and handling[item.acked_id] == ANSWERED and not on_killed:
                assert item.told_at is not None and item.told_at - item.at <= 5.0, (
                    f"{customer.name} {item.client_id}: told after "
                    f"{None if item.told_at is None else round(item.told_at - item.at, 1)} s")


@pytest.fixture
def agent_online(scaled):
    """An agent is online during the test, so asking for a person opens a ticket."""
    engine = create_database_engine(scaled.database_url)
    directory = AgentDirectory(engine)
    agent = directory.by_username("faults") or directory.add("faults", "值班", "secret-pass-1")
    directory.touch(agent.id)
    engine.dispose()
    return agent


def kill_and_restart(scaled, name: str, down_seconds: float = 3.0) -> Callable[[], None]:
    def fault() -> None:
        scaled.kill(name)
        time.sleep(down_seconds)
        scaled.start(name)
    return fault


async def test_an_action_server_killed_under_load(scaled, agent_online):
    customers = await load_with_fault(scaled, kill_and_restart(scaled, "action server 1"), "actions")
    check_recovered(scaled, customers)


async def test_a_rasa_process_killed_under_load(scaled, agent_online):
    customers = await load_with_fault(scaled, kill_and_restart(scaled, "Rasa 1"), "rasa")
    check_recovered(scaled, customers)


def kill_a_gateway_while_messages_wait_for_the_bot(scaled) -> Callable[[], None]:
    """The Rasa processes are paused for a moment, so each gateway holds messages waiting for the bot; then
    gateway 1 is killed with its messages in flight, and started again 3 s later."""

    def fault() -> None:
        rasa = [scaled.services[name].process.pid for name in scaled.services if name.startswith("Rasa")]
        for pid in rasa:
            os.killpg(pid, signal.SIGSTOP)
        time.sleep(2)
        scaled.kill("gateway 1")
        for pid in rasa:
            os.killpg(pid, signal.SIGCONT)
        time.sleep(3)
        scaled.start("gateway 1")
    return fault


async def test_a_gateway_replica_killed_under_load(scaled, agent_online):
    customers = await load_with_fault(scaled, kill_a_gateway_while_messages_wait_for_the_bot(scaled), "gateway")
    assert sum(c.reconnects for c in customers) > 0, "some customers were on the killed gateway"
    check_recovered(scaled, customers, killed_gateway="gateway-1")


@pytest.mark.skipif(not can_restart_services(), reason="restarting Redis needs root and Debian's redis-server")
async def test_redis_restarted_under_load(scaled, agent_online):
    customers = await load_with_fault(scaled, restart_redis, "redis")
    check_recovered(scaled, customers)


@pytest.mark.skipif(not can_restart_services(), reason="restarting PostgreSQL needs root and pg_ctlcluster")
async def test_postgres_restarted_under_load(scaled, agent_online):
    customers = await load_with_fault(scaled, restart_postgres, "postgres")
    check_recovered(scaled, customers)
