"""How long an order answer takes: the order system alone (the embedded demo, and the HTTP client against a
local server that follows the shop API's contract, tools/shop_api_server.py), and a customer's 订单…到哪了 through
the whole product (gateway, Rasa, the action server and its order form) on each backend.

Run: `make bench` (all) or `PYTHONPATH=. .venv/bin/python -m bench.order_latency [--calls 500] [--answers 40]`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Awaitable, Callable, Dict, List, Optional, Sequence

import aiohttp
from aiohttp.test_utils import TestServer

from bench.server_speed import percentile
from core.db import create_database_engine, upgrade_schema
from evaluation.customer_chat import CustomerChat
from evaluation.live_stack import free_port, running_stack
from orders.demo_system import DemoOrderSystem
from orders.port import OrderSystem
from orders.shop_api import ShopApiOrderSystem
from tools.shop_api_server import create_app, serving_in_thread

CUSTOMERS = ("C10086", "C20017", "C30452")
# 王女士's earbuds, on their way (data/demo/orders.yml)
TRACKED_ORDER, TRACKING_NUMBER = "2026120112345678", "SF1402837465921"
# one customer asks again and again: no rate limit in the way
QUICK = {"SHOP_GATEWAY_RATE_LIMIT_BURST": "1000", "SHOP_GATEWAY_RATE_LIMIT_PER_MINUTE": "6000"}


async def _timed(call: Callable[[], Awaitable[object]], calls: int) -> List[float]:
    for _ in range(20):  # warm connections and caches
        await call()
    spent = []
    for _ in range(calls):
        started = time.perf_counter()
        await call()
        spent.append(1000 * (time.perf_counter() - started))
    return spent


async def _measure(system: OrderSystem, calls: int) -> Dict[str, List[float]]:
    orders = await system.orders_of("C10086")
    number = orders[0].order_number
    return {
        "a customer's orders": await _timed(lambda: system.orders_of(CUSTOMERS[0]), calls),
        "one order": await _timed(lambda: system.order(number), calls),
        "phone check": await _timed(lambda: system.phone_matches(number, "8000"), calls),
    }


async def _run(work: Path, calls: int) -> Dict[str, Dict[str, List[float]]]:
    engine = create_database_engine(f"sqlite:///{work / 'orders.db'}")
    upgrade_schema(engine)
    demo = DemoOrderSystem(engine)
    results = {"demo (embedded)": await _measure(demo, calls)}
    server = TestServer(create_app(demo, "bench-token"))
    await server.start_server()
    client = ShopApiOrderSystem(str(server.make_url("")), "bench-token")
    try:
        results["HTTP client, local shop API"] = await _measure(client, calls)
    finally:
        await client.close()
        await server.close()
        engine.dispose()
    return results


async def _ask(gateway_url: str, text: str, answers: int) -> List[float]:
    """Sends `text` as the signed-in 王女士 `answers` times, one at a time; the time to each bot reply, in ms."""
    spent: List[float] = []
    async with aiohttp.ClientSession() as http:
        chat = await CustomerChat(http, gateway_url).open(CUSTOMERS[0])
        for index in range(answers + 3):  # the first few warm Rasa and the action server
            replies = await chat.say(text, quiet=0)
            if TRACKING_NUMBER not in replies[0].get("text", ""):
                raise RuntimeError(f"the bot answered {replies[0].get('text')!r}, not the tracking: the figures "
                                   "would time something else")
            if index >= 3:
                spent.append(1000 * chat.first_reply_seconds)
        await chat.close()
    return spent


def answer_latency(model: Path, answers: int) -> Dict[str, List[float]]:
    """A verified customer's 订单…到哪了 answered through the whole product, on the demo and on the HTTP client."""
    text = f"订单{TRACKED_ORDER}到哪了"
    results: Dict[str, List[float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-order-answers-") as work:
        with running_stack(model, Path(work) / "demo", QUICK, quiet=True) as stack:
            results["demo (embedded)"] = asyncio.run(_ask(stack.gateway_url, text, answers))
        with serving_in_thread(f"sqlite:///{Path(work) / 'shop-api.db'}", "bench-token", free_port()) as api:
            env = {**QUICK, "SHOP_ORDERS_BACKEND": "http", "SHOP_ORDERS_API_URL": api["url"],
                   "SHOP_ORDERS_API_TOKEN": "bench-token"}
            with running_stack(model, Path(work) / "http", env, quiet=True) as stack:
                results["HTTP client, local shop API"] = asyncio.run(_ask(stack.gateway_url, text, answers))
    return results


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--answers", type=int, default=40, help="order answers through the whole product (0: skip)")
    parser.add_argument("--model", type=Path, default=Path("models/shop.tar.gz"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-orders-") as work:
        results = asyncio.run(_run(Path(work), args.calls))
    print(f"== Order system latency, {args.calls} calls each (SQLite; the HTTP server in the same process) ==")
    for backend, calls in results.items():
        for name, spent in calls.items():
            print(f"{backend:>28} {name:>20}: p50 {statistics.median(spent):5.2f} ms, "
                  f"p95 {percentile(spent, 0.95):5.2f} ms")
    if args.answers <= 0:
        return
    if not args.model.exists():
        print(f"(no model at {args.model}: `make train` first; the answers through the product are skipped)")
        return
    print(f"== An order answer through the product (gateway, Rasa, action server), {args.answers} in a row ==")
    for backend, spent in answer_latency(args.model, args.answers).items():
        print(f"{backend:>28} 订单…到哪了 -> tracking: p50 {statistics.median(spent):6.1f} ms, "
              f"p95 {percentile(spent, 0.95):6.1f} ms")


if __name__ == "__main__":
    main()
