"""SQL statements, transactions, new database connections and Rasa requests the gateway spends per
customer turn and per escalation.

The action server and Rasa run as processes (as `make run` starts them); the gateway runs in this
process on aiohttp's test server, so SQLAlchemy's events count every statement it sends. A customer
asks knowledge-base questions one after another, then asks for a person while an agent is online.

Run: `make bench` (all) or `.venv/bin/python -m bench.sql_per_turn`.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, List

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool

from bench.open_loop import bot_questions
from bot.gateway.address_limits import LOAD_TEST_ENVIRONMENT
from bot.gateway.app import create_app
from bot.gateway.config import GatewayConfig
from bot.gateway.keys import AGENTS, RASA
from bot.gateway.store import ConversationStore
from bot.run import build_services, wait_until_ready
from core.settings import load_settings, project_path
from evaluation.live_stack import free_port, rasa_env
from evaluation.postgres_schema import fresh_schema

TURNS = 20


@dataclass
class Counts:
    """What the gateway sent to its database and to Rasa."""

    statements: int = 0
    transactions: int = 0
    connections: int = 0
    rasa_requests: int = 0
    by_kind: Dict[str, int] = field(default_factory=dict)

    def minus(self, earlier: Counts) -> Counts:
        kinds = {k: v - earlier.by_kind.get(k, 0) for k, v in self.by_kind.items() if v - earlier.by_kind.get(k, 0)}
        return Counts(self.statements - earlier.statements, self.transactions - earlier.transactions,
                      self.connections - earlier.connections, self.rasa_requests - earlier.rasa_requests, kinds)

    def snapshot(self) -> Counts:
        return replace(self, by_kind=dict(self.by_kind))


def count_sql(counts: Counts) -> None:
    """Counts every statement, transaction and new connection of every engine in this process."""

    @event.listens_for(Engine, "before_cursor_execute")
    def _statement(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, ARG001
        words = statement.upper().split()[:2]
        kind = " ".join(words) if words[:1] == ["BEGIN"] else (words or ["?"])[0]
        counts.by_kind[kind] = counts.by_kind.get(kind, 0) + 1
        if kind.startswith("BEGIN"):
            return  # counted as a transaction, below
        counts.statements += 1

    @event.listens_for(Engine, "begin")
    def _begin(conn):  # noqa: ANN001
        counts.transactions += 1

    @event.listens_for(Pool, "connect")
    def _connect(dbapi_connection, record):  # noqa: ANN001, ARG001
        counts.connections += 1


def count_rasa(app: Any, counts: Counts) -> None:
    """Counts the gateway's requests to Rasa (every one goes through `send`: no tracker reads are left)."""
    rasa = app[RASA]
    for name in ("send",):
        original = getattr(rasa, name)

        async def counted(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            counts.rasa_requests += 1
            return await _original(*args, **kwargs)

        setattr(rasa, name, counted)


async def _reply(ws: Any, wanted: str = "message") -> Dict[str, Any]:
    """The first frame of the wanted type (for messages: not the customer's own echo)."""
    async def first() -> Dict[str, Any]:
        while True:
            frame = await ws.receive_json()
            if frame["type"] == wanted and (wanted != "message" or frame["sender"] != "customer"):
                return frame

    return await asyncio.wait_for(first(), 60)


async def _drain(ws: Any, seconds: float) -> List[Dict[str, Any]]:
    """Every frame that arrives within `seconds`."""
    frames = []
    try:
        while True:
            frames.append(await asyncio.wait_for(ws.receive_json(), seconds))
    except asyncio.TimeoutError:
        return frames


async def _measure(rasa_url: str, database_url: str) -> Dict[str, Counts]:
    # people answer around the clock here, so the escalation opens a ticket at any time of day
    values = load_settings(environ={**os.environ, "SHOP_HANDOFF_HOURS": "00:00-23:59:59", **LOAD_TEST_ENVIRONMENT})
    config = replace(GatewayConfig.from_settings(values), rasa_url=rasa_url, database_url=database_url,
                     rate_limit_burst=1000)
    app = create_app(config)
    counts = Counts()
    count_sql(counts)
    print("starting the gateway in this process", flush=True)
    async with TestClient(TestServer(app)) as client:
        count_rasa(app, counts)
        agents = app[AGENTS]
        agent = agents.add("bench-agent", "测试客服", "bench-password-1")
        agents.touch(agent.id)
        questions = bot_questions()
        print("gateway up; conversation starts", flush=True)
        ws = await client.ws_connect("/chat/socket")
        before_hello = counts.snapshot()
        await ws.send_json({"type": "hello"})
        await _reply(ws, "welcome")
        hello = counts.minus(before_hello)
        turns: List[Counts] = []
        for number in range(TURNS):
            before = counts.snapshot()
            await ws.send_json({"type": "message", "client_id": f"q{number}", "text": questions[number * 7]})
            await _reply(ws)
            # the event log's writes after the reply belong to this turn
            later = await _drain(ws, 0.5)
            if any(frame["type"] == "handoff" for frame in later):
                # the bot handed this one to a person: not a plain turn; back to the bot for the next
                await ws.send_json({"type": "cancel_handoff"})
                await _drain(ws, 0.5)
                continue
            turns.append(counts.minus(before))
            print(f"turn {number + 1}/{TURNS}", end="\r", flush=True)
        before = counts.snapshot()
        await ws.send_json({"type": "message", "client_id": "person", "text": "转人工"})
        await _reply(ws, "handoff")
        await asyncio.sleep(0.8)
        escalation = counts.minus(before)
        await ws.close()
    per_turn = Counts(
        statements=round(sum(t.statements for t in turns) / len(turns)),
        transactions=round(sum(t.transactions for t in turns) / len(turns)),
        connections=round(sum(t.connections for t in turns) / len(turns)),
        rasa_requests=round(sum(t.rasa_requests for t in turns) / len(turns)),
        by_kind={k: round(sum(t.by_kind.get(k, 0) for t in turns) / len(turns), 1)
                 for k in sorted({k for t in turns for k in t.by_kind})},
    )
    return {"hello": hello, "customer turn (mean)": per_turn, "escalation": escalation}


def store_cpu_per_turn(database_url: str, turns: int = 2000) -> float:
    """CPU milliseconds of a customer turn's SQL in this thread, in a quiet process: the message stored with the
    open-ticket read, then the bot's reply stored with its reading (what the gateway does per turn)."""
    from core.db import create_database_engine, upgrade_schema
    from handoff.queue import open_ticket_read

    engine = create_database_engine(database_url)
    upgrade_schema(engine)
    store = ConversationStore(engine)
    conversations = [store.create_conversation({"page": "bench"}) for _ in range(50)]

    def turn(number: int) -> None:
        conversation = conversations[number % len(conversations)]
        message, _, _ = store.append_and_read(
            conversation, "customer", "退款多久到账", f"m{number}", None, None, open_ticket_read(conversation))
        store.append_bot_turn(conversation, message.id, {"intent": "faq", "confidence": 0.9},
                              [("退款原路返回", {"buttons": []})])

    for number in range(200):
        turn(number)
    started = time.thread_time()
    for number in range(200, 200 + turns):
        turn(number)
    store.close()
    engine.dispose()
    return 1000 * (time.thread_time() - started) / turns


def quiet_sql_cpu() -> str:
    """store_cpu_per_turn on SQLite and on this machine's PostgreSQL (TEST_POSTGRES_URL), as a line."""
    with tempfile.TemporaryDirectory(prefix="bench-sql-cpu-") as work:
        line = f"a turn's SQL, CPU in a quiet process: SQLite {store_cpu_per_turn(f'sqlite:///{work}/cpu.db'):.2f} ms"
    postgres = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    try:
        with fresh_schema(postgres, "bench") as url:
            return line + f", PostgreSQL {store_cpu_per_turn(url):.2f} ms (the client's side)"
    except Exception as error:  # noqa: BLE001 - a machine without PostgreSQL still gets the SQLite figure
        return line + f"; PostgreSQL not measured: {error}"


def main() -> Dict[str, Counts]:
    """Starts the action server and Rasa, runs the gateway here, prints the counts."""
    model = project_path(load_settings()["rasa"]["model"])
    if not model.exists():
        raise SystemExit(f"No trained model at {model}: run `make train` first (make bench does).")
    sql_cpu = quiet_sql_cpu()  # first: the counting below hooks every engine of this process
    with tempfile.TemporaryDirectory(prefix="bench-sql-") as work:
        ports = {"ACTIONS": free_port(), "RASA": free_port()}
        env = {**rasa_env(), **{f"SHOP_{name}_PORT": str(port) for name, port in ports.items()},
               "SHOP_HANDOFF_HOURS": "00:00-23:59:59",
               "SHOP_RASA_TRACKER_STORE_URL": f"sqlite:///{work}/rasa-trackers.db"}
        services = build_services(Path(work), load_settings(environ=env), model=model)[:2]
        for service in services:
            service.start(env, Path(work) / f"{service.name.replace(' ', '-')}.log")
        try:
            problem = wait_until_ready(services, 240)
            if problem:
                raise RuntimeError(problem)
            results = asyncio.run(_measure(f"http://127.0.0.1:{ports['RASA']}", f"sqlite:///{work}/sql.db"))
        finally:
            for service in reversed(services):
                service.stop()
    print("== The gateway's database and Rasa work per customer step ==")
    print(sql_cpu)
    for name, found in results.items():
        kinds = ", ".join(f"{k} {v:g}" for k, v in found.by_kind.items())
        print(f"{name:>22}: {found.statements} statements in {found.transactions} transactions, "
              f"{found.connections} new connections, {found.rasa_requests} Rasa requests  [{kinds}]")
    return results


if __name__ == "__main__":
    main()
