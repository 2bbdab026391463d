"""How long the order system takes to answer the bot: the embedded demo, and the HTTP client against a local
server that follows the shop API's contract (tools/shop_api_server.py, a real HTTP server on loopback).

Run: `make bench` (all) or `PYTHONPATH=. .venv/bin/python -m bench.order_latency [--calls 500]`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Awaitable, Callable, Dict, List, Optional, Sequence

from aiohttp.test_utils import TestServer

from bench.server_speed import percentile
from core.db import create_database_engine, upgrade_schema
from orders.demo_system import DemoOrderSystem
from orders.port import OrderSystem
from orders.shop_api import ShopApiOrderSystem
from tools.shop_api_server import create_app

CUSTOMERS = ("C10086", "C20017", "C30452")


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


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=500)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-orders-") as work:
        results = asyncio.run(_run(Path(work), args.calls))
    print(f"== Order system latency, {args.calls} calls each (SQLite; the HTTP server in the same process) ==")
    for backend, calls in results.items():
        for name, spent in calls.items():
            print(f"{backend:>28} {name:>20}: p50 {statistics.median(spent):5.2f} ms, "
                  f"p95 {percentile(spent, 0.95):5.2f} ms")


if __name__ == "__main__":
    main()
