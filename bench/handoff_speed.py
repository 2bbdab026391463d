"""Handoff speed on SQLite and PostgreSQL.

1. Escalation to console: a real gateway process (no Rasa needed: the 转人工
   button is handled by the gateway), one agent's console socket open. For each
   of 60 customers: WebSocket hello, then the button; timed from sending it until
   the agent's console receives the queue frame that lists the new ticket. The
   queue keeps growing (nobody takes tickets), so the last customers are measured
   with 59 others waiting.
2. Queue operations per second, straight on handoff.queue.TicketQueue: one
   worker doing open -> take_next -> resolve cycles, then 20 concurrent agents
   taking from 1,000 waiting tickets.

Run: `make bench` (all) or `.venv/bin/python -m bench.handoff_speed`.
PostgreSQL: TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test), in a schema of its own.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator, List

import aiohttp
from sqlalchemy import create_engine, text

from bench.server_speed import percentile
from bot.gateway.address_limits import LOAD_TEST_ENVIRONMENT
from bot.gateway.store import ConversationStore
from bot.run import Service, wait_until_ready
from core.customer_identity import signed_claim
from core.db import create_database_engine, upgrade_schema
from evaluation.live_stack import STACK_IDENTITY_SECRET
from handoff.accounts import AgentDirectory
from handoff.queue import TicketQueue

ROOT = Path(__file__).resolve().parent.parent
POSTGRES = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def database(kind: str, work: Path) -> Iterator[str]:
    """A fresh, migrated database URL: a SQLite file, or a PostgreSQL schema dropped afterwards."""
    if kind == "sqlite":
        url = f"sqlite:///{work}/bench-{uuid.uuid4().hex[:6]}.db"
        upgrade_schema(create_database_engine(url))
        yield url
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES, future=True)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    url = f"{POSTGRES}{'&' if '?' in POSTGRES else '?'}options=-csearch_path%3D{schema}"
    upgrade_schema(create_database_engine(url))
    try:
        yield url
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


async def _escalations(base: str, customers: int) -> List[float]:
    latencies = []
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as agent, aiohttp.ClientSession() as http:
        login = await agent.post(f"{base}/console/api/login", json={"username": "bench", "password": "bench-pass-1"})
        assert login.status == 200, await login.text()
        console = await agent.ws_connect(f"{base}/console/socket")
        while (await console.receive_json())["type"] != "queue":
            pass
        for number in range(customers):
            ws = await http.ws_connect(f"{base}/chat/socket")
            await ws.send_json({"type": "hello", "identity": signed_claim(STACK_IDENTITY_SECRET, f"B{number}")})
            while (await ws.receive_json())["type"] != "welcome":
                pass
            started = time.perf_counter()
            await ws.send_json({"type": "message", "client_id": "h", "text": "转人工", "payload": "/handoff"})
            while True:
                frame = await console.receive_json()
                if frame["type"] == "queue" and any(t["customer_id"] == f"B{number}" for t in frame["waiting"]):
                    break
            latencies.append((time.perf_counter() - started) * 1000)
            await ws.close()
    return latencies


def escalation_to_console(url: str, work: Path, customers: int = 60) -> List[float]:
    """Milliseconds from the customer's 转人工 to the ticket in the agent's console."""
    directory = AgentDirectory(create_database_engine(url))
    directory.add("bench", "压测客服", "bench-pass-1")
    port = _free_port()
    env = {
        **os.environ, "PYTHONPATH": str(ROOT), "SHOP_GATEWAY_PORT": str(port), "SHOP_DATABASE_URL": url,
        "SHOP_HANDOFF_HOURS": "00:00-23:59:59", "SHOP_GATEWAY_RATE_LIMIT_BURST": "1000", **LOAD_TEST_ENVIRONMENT,
        # no Rasa runs here: the gateway only asks it for readings, and gives up at once
        "SHOP_RASA_PORT": str(_free_port()),
        "SHOP_IDENTITY_SECRET": STACK_IDENTITY_SECRET,
    }
    gateway = Service("chat gateway", [sys.executable, "-m", "bot.gateway"], f"http://127.0.0.1:{port}/health")
    gateway.start(env)
    try:
        problem = wait_until_ready([gateway], 60)
        if problem:
            raise RuntimeError(problem)
        return asyncio.run(_escalations(f"http://127.0.0.1:{port}", customers))
    finally:
        gateway.stop()


def queue_operations(url: str, cycles: int = 300, tickets: int = 1000, agents: int = 20) -> Dict[str, float]:
    """open/take/resolve cycles per second (one worker), and takes per second by 20 concurrent agents."""
    engine = create_database_engine(url)
    store, queue, directory = ConversationStore(engine), TicketQueue(engine), AgentDirectory(engine)
    worker = directory.add("worker", "worker", "worker-pass-1").id
    conversations = [store.create_conversation({}) for _ in range(cycles)]
    started = time.perf_counter()
    for conversation in conversations:
        ticket = queue.open(conversation, reason="request_human", detail="", priority=10)[0]
        queue.take_next(worker)
        queue.resolve(ticket.id, worker, "")
    cycle_rate = cycles / (time.perf_counter() - started)

    for number in range(tickets):
        queue.open(store.create_conversation({}), reason="request_human", detail="", priority=number % 3 * 10)
    ids = [directory.add(f"agent{n:02d}", f"agent{n}", "agent-pass-1").id for n in range(agents)]
    taken: List[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(agents + 1)

    def take(agent_id: int) -> None:
        own = TicketQueue(create_database_engine(url))
        barrier.wait()
        while (ticket := own.take_next(agent_id)) is not None:
            with lock:
                taken.append(ticket.id)
        own.engine.dispose()

    threads = [threading.Thread(target=take, args=(a,)) for a in ids]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    take_rate = len(taken) / (time.perf_counter() - started)
    assert len(taken) == len(set(taken)) == tickets, "a ticket was taken twice or not at all"
    engine.dispose()
    return {"cycles_per_s": cycle_rate, "takes_per_s": take_rate}


def main() -> Dict[str, Dict[str, float]]:
    """Both measurements on both databases; prints the figures."""
    print("== Handoff: escalation to console, queue operations ==")
    results: Dict[str, Dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-handoff-") as folder:
        work = Path(folder)
        for kind in ("sqlite", "postgresql"):
            try:
                with database(kind, work) as url:
                    latencies = escalation_to_console(url, work)
                with database(kind, work) as url:
                    ops = queue_operations(url)
            except Exception as error:  # noqa: BLE001 - report and go on with the other database
                print(f"{kind}: could not run ({error})")
                continue
            results[kind] = {
                "escalation_p50_ms": statistics.median(latencies),
                "escalation_p95_ms": percentile(latencies, 0.95),
                **ops,
            }
            print(
                f"{kind:>10}: escalation -> console p50 {results[kind]['escalation_p50_ms']:.1f} ms, "
                f"p95 {results[kind]['escalation_p95_ms']:.1f} ms over {len(latencies)} customers; "
                f"open+take+resolve {ops['cycles_per_s']:.0f} cycles/s; "
                f"20 agents take {ops['takes_per_s']:.0f} tickets/s"
            )
    return results


if __name__ == "__main__":
    main()
