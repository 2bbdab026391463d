"""Hostile input against the chat gateway: the counts the review's fuzzer reported (inputs, answers by status
class, dropped sockets, tracebacks in the log), from the same seeded generator as tests/gateway/test_fuzz.py
(evaluation/fuzz.py), only more of it.

The gateway runs in this process on aiohttp's test server with the settings' defaults, its own SQLite
database, and a stand-in Rasa that answers every message (every cause the review found is in the gateway).
Every case comes from 127.0.0.1, so the per-address abuse limits are lifted (they are measured elsewhere).

Run: `make bench` (all) or `.venv/bin/python -m bench.fuzz [--seed 13] [--cases 5000]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Dict, List, Optional

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.gateway.address_limits import LOAD_TEST_ENVIRONMENT
from bot.gateway.app import create_app
from bot.gateway.config import GatewayConfig
from bot.gateway.keys import AGENTS
from core.settings import load_settings
from evaluation.fuzz import (
    Fuzzer,
    Generator,
    TracebackCounter,
    customer_still_served,
    log_in,
    routes_of,
    start_conversations,
)

PASSWORD = "bench-password-1"


def stand_in_rasa() -> web.Application:
    """Rasa's gateway channel, answering every message at once (bot/rasa_channel.py's reply shape)."""

    async def webhook(request: web.Request) -> web.Response:
        body = await request.json()
        reply = {"recipient_id": body.get("sender"), "text": "收到"}
        return web.json_response({"messages": [reply], "reading": None})

    app = web.Application()
    app.router.add_post("/webhooks/gateway/webhook", webhook)
    app.router.add_get("/", lambda request: web.json_response({"hello": "rasa"}))
    return app


async def measure(seed: int, cases: int, work: Path) -> Dict[str, Any]:
    """Runs `cases` generated from `seed` against a fresh gateway; the counts and what the log held."""
    async with TestServer(stand_in_rasa()) as rasa:
        environ = {**os.environ, **LOAD_TEST_ENVIRONMENT, "SHOP_HANDOFF_HOURS": "00:00-23:59:59"}
        config = replace(GatewayConfig.from_settings(load_settings(environ=environ)),
                         rasa_url=f"http://127.0.0.1:{rasa.port}", database_url=f"sqlite:///{work / 'fuzz.db'}",
                         rate_limit_burst=10**6)
        app = create_app(config)
        async with TestClient(TestServer(app)) as client:
            agents = app[AGENTS]
            agents.add("fuzz-agent", "测试客服", PASSWORD)
            agents.add("fuzz-boss", "测试主管", PASSWORD, role="supervisor")
            base = str(client.make_url("")).rstrip("/")
            http = client.session
            logins = {"agent": await log_in(http, base, "fuzz-agent", PASSWORD),
                      "supervisor": await log_in(http, base, "fuzz-boss", PASSWORD)}
            routes = routes_of(app)
            generated = Generator(seed, routes, await start_conversations(http, base, 4)).cases(cases)
            started = time.monotonic()
            with TracebackCounter() as tracebacks:
                counts = await Fuzzer(base, logins).run(generated)
                try:
                    await customer_still_served(http, base)
                    served = "yes"
                except AssertionError as refused:
                    served = f"NO: {refused}"[:300]
            seconds = time.monotonic() - started
    return {"counts": counts, "routes": len(routes), "tracebacks": tracebacks, "served": served, "seconds": seconds}


def _print(seed: int, cases: int, result: Dict[str, Any]) -> None:
    counts = result["counts"]
    statuses = ", ".join(f"{name} {number}" for name, number in sorted(counts.by_status_class.items()))
    causes = ", ".join(f"{name} {number}" for name, number in sorted(counts.by_cause.items()))
    print(f"seed {seed}, {cases} cases over {result['routes']} HTTP routes and 2 WebSockets, "
          f"{result['seconds']:.0f} s")
    print(f"inputs: {counts.inputs} ({counts.http_requests} HTTP requests, {counts.socket_frames} frames "
          f"on {counts.sockets} sockets)")
    print(f"HTTP answers by status class: {statuses}")
    print(f"5xx: {counts.by_status_class.get('5xx', 0)}; requests without an answer: "
          f"{counts.by_status_class.get('no answer', 0)}")
    print(f"dropped sockets: {counts.dropped_sockets} (console sockets refused without a login, not counted: "
          f"{counts.refused_sockets})")
    print(f"tracebacks or errors in the gateway's log: {len(result['tracebacks'].records)}")
    print(f"cases by cause: {causes}")
    print(f"a customer served afterwards: {result['served']}")
    for line in counts.server_errors[:5] + counts.dropped[:5] + result["tracebacks"].described(5):
        print(f"  {line}")


def main(argv: Optional[List[str]] = None) -> Dict[str, Any]:
    """Runs the fuzz and prints its counts."""
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--cases", type=int, default=5800)
    args = parser.parse_args(argv)
    print("== Hostile input: the fuzz over every route and socket frame ==")
    with tempfile.TemporaryDirectory(prefix="shop-fuzz-") as work:
        result = asyncio.run(measure(args.seed, args.cases, Path(work)))
    _print(args.seed, args.cases, result)
    return result


if __name__ == "__main__":
    main()
