"""The scaled setup against the single-process default, in one run: open-loop load through nginx and the
gateways, beside straight-to-Rasa; CPU per reply and peak memory of every process (PostgreSQL and Redis
included), and the customers' own (they run in this process, on the same cores); and the time to recover from a
kill -9 of each kind of process. Customers arrive over the first five seconds, each just before its first message,
as they would at a rush; `--arrive-at-once` connects them all at the start instead (500 new conversations in a
second, then the messages).

Run: `make bench` (all) or `PYTHONPATH=. .venv/bin/python -m bench.scaled_load [--customers 200 400 500 520]
[--seconds 60] [--setups single scaled] [--no-recovery] [--arrive-at-once]`. Needs this machine's PostgreSQL
(TEST_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/test; a schema of its own, dropped afterwards) and
Redis (TEST_REDIS_URL, default redis://127.0.0.1:6379/0).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import aiohttp
from sqlalchemy import create_engine, select

from bench.open_loop import (
    CLOCK_TICKS,
    INTERVAL_SECONDS,
    JITTER,
    OpenLoopResult,
    _customer_over_socket,
    _customer_to_rasa,
    bot_questions,
    process_cpu_seconds,
)
from bench.server_speed import peak_memory_mb, percentile
from bot.gateway.rasa_client import WEBHOOK_PATH
from bot.gateway.store import ANSWERED, HANDED_OVER, TO_AGENT, messages
from core.settings import load_settings, project_path
from evaluation.live_stack import running_scaled_stack, running_stack
from evaluation.postgres_schema import fresh_schema

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
LOAD_ENV = {
    # a load test is a flood by design; the limiter is measured in the tests, not here
    "SHOP_GATEWAY_RATE_LIMIT_BURST": "1000000",
    "SHOP_GATEWAY_BOT_NOTICE_AFTER_SECONDS": "60",
    "SHOP_GATEWAY_BOT_TIMEOUT_SECONDS": "120",
}
# processes outside the product's own that serve it: their CPU counts too
SERVERS = {"postgres": "PostgreSQL", "redis-server": "Redis"}


@dataclass
class Target:
    """What a load run talks to, and which processes are the product's."""

    name: str
    chat_url: str
    origin: str
    rasa_urls: List[str]
    pids: Dict[str, int] = field(default_factory=dict)


def _server_cpu() -> Dict[str, float]:
    totals = {name: 0.0 for name in SERVERS.values()}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        for key, name in SERVERS.items():
            if key in command:
                totals[name] += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return totals


def _cpu_snapshot(target: Target) -> Dict[str, float]:
    snapshot = {name: process_cpu_seconds(pid) for name, pid in target.pids.items()}
    snapshot.update(_server_cpu())
    return snapshot


async def run_load(target: Target, path: str, customers: int, seconds: float, pool: Sequence[str],
                   arrive_at_once: bool = False) -> OpenLoopResult:
    """`customers` open-loop customers for `seconds`: through the gateways ("gateway") or straight to Rasa's
    gateway channel ("rasa", customers spread over the Rasa processes); CPU measured around the run. Customers
    arrive over the first interval, each just before its first message (`arrive_at_once`: all connect and say
    hello at the start, a flood of new conversations before the first message)."""
    result = OpenLoopResult(path, customers, seconds)
    before = _cpu_snapshot(target)
    own_before = time.process_time()
    rng = random.Random(customers)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                     timeout=aiohttp.ClientTimeout(total=120),
                                     headers={"Origin": target.origin}) as http:
        stop_at = time.perf_counter() + seconds
        jobs = []
        for number in range(customers):
            texts = rng.sample(list(pool), 20)
            if path == "gateway":
                jobs.append(_customer_over_socket(http, target.chat_url, texts, stop_at, result,
                                                  arrive_at_once=arrive_at_once))
            else:
                url = target.rasa_urls[number % len(target.rasa_urls)] + WEBHOOK_PATH
                jobs.append(_customer_to_rasa(http, url, f"bench-{uuid.uuid4().hex[:10]}", texts, stop_at, result))
        await asyncio.gather(*jobs)
    after = _cpu_snapshot(target)
    result.cpu_seconds = {name: after[name] - before.get(name, 0.0) for name in after}
    # the customers run on the same two cores: what they take is not the product's, but it is not free either
    result.load_cpu_seconds = time.process_time() - own_before
    return result


def _line(setup: str, result: OpenLoopResult) -> str:
    if not result.latencies_ms:
        return f"{setup:>7} {result.path:>7} {result.customers:>4} customers: no replies ({result.failures} failed)"
    rate = result.replies / result.duration
    cpu = ", ".join(f"{name} {1000 * value / result.replies:.1f}" for name, value in result.cpu_seconds.items()
                    if value > 0)
    total = 1000 * sum(result.cpu_seconds.values()) / result.replies
    load = 1000 * result.load_cpu_seconds / result.replies
    offered = result.customers / INTERVAL_SECONDS
    return (f"{setup:>7} {result.path:>7} {result.customers:>4} customers ({offered:.0f}/s): "
            f"{rate:5.1f} replies/s, p50 {percentile(result.latencies_ms, 0.5):6.0f} ms, "
            f"p95 {percentile(result.latencies_ms, 0.95):6.0f} ms, {result.failures} failed; "
            f"CPU ms per reply: {cpu}; all {total:.1f} (the customers' own {load:.1f})")


async def _measure(setup: str, target: Target, counts: Sequence[int], seconds: float,
                   arrive_at_once: bool = False) -> List[OpenLoopResult]:
    pool = bot_questions()
    for path in ("rasa", "gateway"):  # warm caches, connections and Rasa's first turns
        await run_load(target, path, 20, 8, pool)
    await asyncio.sleep(3)
    results = []
    for customers in counts:
        for path in ("rasa", "gateway"):
            result = await run_load(target, path, customers, seconds, pool, arrive_at_once)
            print(_line(setup, result), flush=True)
            results.append(result)
    return results


async def _recovery(stack, name: str) -> float:
    """Seconds from a kill -9 of `name` (started again at once, as the supervisor does) until every message
    acknowledged so far is answered or handed over. 30 customers talk from 6 s before the kill until 3 s after
    it, so messages are in flight when it dies and arrive while it is down; the database is read every 0.2 s
    from the kill on, whatever the customers' sockets are still waiting for."""
    engine = create_engine(stack.database_url, future=True, pool_pre_ping=True)
    pool = bot_questions()
    result = OpenLoopResult("gateway", 30, 9)
    acked: List[str] = []
    stop_at = time.perf_counter() + 9

    async def customer(texts: Sequence[str]) -> None:
        async with aiohttp.ClientSession(headers={"Origin": stack.public_url}) as http:
            try:
                await _customer_over_socket(http, stack.public_url.replace("http", "ws") + "/chat/socket", texts,
                                            stop_at, result, acked, arrive_at_once=True)
            except (aiohttp.ClientError, ConnectionError, asyncio.TimeoutError):
                pass  # a killed gateway's socket: what it acknowledged is counted below

    def all_handled() -> bool:
        with engine.connect() as connection:
            rows = connection.execute(select(messages.c.handling).where(messages.c.id.in_(list(acked)))).all()
        return len(rows) == len(acked) and all(row.handling in (ANSWERED, TO_AGENT, HANDED_OVER) for row in rows)

    jobs = [asyncio.create_task(customer(random.sample(pool, 20))) for _ in range(30)]
    await asyncio.sleep(6)
    killed_at = time.monotonic()
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, stack.kill, name)
    restart = loop.run_in_executor(None, stack.start, name)
    recovered = float("nan")
    while time.monotonic() - killed_at < 300:
        await asyncio.sleep(0.2)
        if time.perf_counter() >= stop_at + 1 and await loop.run_in_executor(None, all_handled):
            recovered = time.monotonic() - killed_at
            break
    await restart
    for job in jobs:
        job.cancel()
    await asyncio.gather(*jobs, return_exceptions=True)
    engine.dispose()
    return recovered


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Runs the chosen setups, prints the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    # 500 customers offer 100 messages a second, and 520 a little more: the goal's "at least 100 replies/s"
    parser.add_argument("--customers", type=int, nargs="+", default=[200, 400, 500, 520])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--setups", nargs="+", choices=["single", "scaled"], default=["single", "scaled"])
    parser.add_argument("--no-recovery", action="store_true", help="skip the kill -9 recovery times")
    parser.add_argument("--arrive-at-once", action="store_true",
                        help="every customer connects at the start (a flood of new conversations) instead of "
                             "just before its first message")
    args = parser.parse_args(argv)
    model = project_path(load_settings()["rasa"]["model"])
    if not model.exists():
        raise SystemExit(f"No trained model at {model}: run `make train` first (make bench does).")
    print(f"== Scaled setup against the single process: open loop, every {INTERVAL_SECONDS:.0f} s (±{JITTER:.0%}) "
          f"for {args.seconds:.0f} s ==")
    everything: Dict[str, List[OpenLoopResult]] = {}
    if "single" in args.setups:
        with tempfile.TemporaryDirectory(prefix="bench-single-") as work, \
                running_stack(model, Path(work), LOAD_ENV, quiet=True) as stack:
            target = Target("single", stack.gateway_url.replace("http", "ws") + "/chat/socket", stack.gateway_url,
                            [stack.rasa_url], {name: s.process.pid for name, s in stack.services.items()})
            everything["single"] = asyncio.run(_measure("single", target, args.customers, args.seconds,
                                                         args.arrive_at_once))
            memory = {name: peak_memory_mb(s.process.pid) for name, s in stack.services.items()}
        print("single peak memory (VmHWM): " + ", ".join(f"{n} {mb:.0f} MiB" for n, mb in memory.items()))
    if "scaled" in args.setups:
        with fresh_schema(POSTGRES_URL, "bench") as database_url, \
                tempfile.TemporaryDirectory(prefix="bench-scaled-") as work, \
                running_scaled_stack(model, Path(work), database_url, REDIS_URL, LOAD_ENV) as stack:
            time.sleep(20)  # Rasa warms up for a while after it first answers
            target = Target("scaled", stack.public_url.replace("http", "ws") + "/chat/socket", stack.public_url,
                            stack.rasa_urls, {name: s.process.pid for name, s in stack.services.items()})
            everything["scaled"] = asyncio.run(_measure("scaled", target, args.customers, args.seconds,
                                                         args.arrive_at_once))
            memory = {name: peak_memory_mb(s.process.pid) for name, s in stack.services.items()}
            print("scaled peak memory (VmHWM): " + ", ".join(f"{n} {mb:.0f} MiB" for n, mb in memory.items()))
            if not args.no_recovery:
                for name in ("action server 1", "Rasa 1", "gateway 1"):
                    seconds = asyncio.run(_recovery(stack, name))
                    print(f"scaled recovery after kill -9 of {name} (started again at once; customers send until "
                          f"3 s after the kill): every acknowledged message answered or handed over "
                          f"{seconds:.1f} s after the kill", flush=True)
    for setup, results in everything.items():
        best = max((r for r in results if r.path == "gateway" and r.latencies_ms
                    and percentile(r.latencies_ms, 0.95) <= 1000), key=lambda r: r.replies / r.duration, default=None)
        if best:
            print(f"{setup}: highest rate through the gateways with p95 <= 1 s: "
                  f"{best.replies / best.duration:.1f} replies/s ({best.customers} customers)")


if __name__ == "__main__":
    main()
