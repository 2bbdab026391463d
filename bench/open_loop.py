"""Open-loop load: N customers, each sending a message every 5 s (20% jitter), through the gateway's
WebSocket and, in the same run, straight to Rasa's gateway channel; with each process's CPU per reply.

Open loop means a customer sends on schedule whether or not the last reply has come, as real customers
do; a saturated server shows up as growing latency instead of a politely slower load. A customer arrives (connects
and says hello) at a random moment of the first interval and sends its first message at once. Every process's
CPU time (user + system, read from /proc before and after each run) is divided by the replies of that
run, which gives the CPU per reply of the action server, Rasa and the gateway.

Run: `make bench` (all) or `.venv/bin/python -m bench.open_loop [--customers 100 200 300] [--seconds 60]`.
`--profile` runs py-spy on the gateway (or `--profile-rasa` on Rasa) during the largest run and prints
the top functions.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import aiohttp

from bench.gateway_speed import questions
from bench.server_speed import peak_memory_mb, percentile
from bot.gateway.rasa_client import WEBHOOK_PATH
from core.settings import load_settings, project_path
from evaluation.live_stack import RunningStack, running_stack
from handoff.escalation import GATEWAY_SIDE_RULES, Rules, Turn

INTERVAL_SECONDS = 5.0
JITTER = 0.2
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# leaf frames of a thread that waits: py-spy samples them, but they use no CPU
IDLE_LEAVES = ("_worker (concurrent/futures/thread.py", "select (selectors.py", "serve (sanic/server/runners.py",
               "wait (threading.py", "run_forever (asyncio/base_events.py")


@dataclass
class OpenLoopResult:
    """One run: who was loaded for how long (seconds of sending), the replies' latencies, each process's CPU."""

    path: str
    customers: int
    duration: float
    latencies_ms: List[float] = field(default_factory=list)
    failures: int = 0
    cpu_seconds: Dict[str, float] = field(default_factory=dict)
    load_cpu_seconds: float = 0.0  # the load generator's own CPU (it shares the machine)

    @property
    def replies(self) -> int:
        return len(self.latencies_ms)

    def line(self) -> str:
        """The run as one printed line."""
        if not self.latencies_ms:
            return f"{self.path:>7} {self.customers:>4} customers: no replies ({self.failures} failures)"
        cpu = ", ".join(
            f"{name} {1000 * seconds / self.replies:.1f}" for name, seconds in self.cpu_seconds.items()
        )
        return (
            f"{self.path:>7} {self.customers:>4} customers ({self.customers / INTERVAL_SECONDS:.0f}/s offered): "
            f"{self.replies:>5} replies, {self.replies / self.duration:5.1f}/s, "
            f"p50 {percentile(self.latencies_ms, 0.5):7.1f} ms, p95 {percentile(self.latencies_ms, 0.95):7.1f} ms, "
            f"{self.failures} failed; CPU ms per reply: {cpu}"
        )


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and every live process in its session (its workers)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # after the command: state ppid pgrp session ...; utime and stime are fields 14 and 15 of stat
        if int(fields[3]) == pid or int(entry.name) == pid:
            total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return total


async def _customer_over_socket(
    http: aiohttp.ClientSession, url: str, texts: Sequence[str], stop_at: float, result: OpenLoopResult,
    acked: Optional[List[str]] = None, arrive_at_once: bool = False,
) -> None:
    """One customer: arrives at a random moment of the first interval (`arrive_at_once`: at the start, every
    customer within the same second, then the first message at a random moment of the first interval), says
    hello, then sends a message every ~5 s until `stop_at`; a turn ends with the bot's first message that
    answers it (`reply_to`, the id the ack gave the customer's message), or with what the gateway says about
    people (a handoff, a left message), which names no message."""
    sent: Dict[str, float] = {}
    waiting: Dict[str, float] = {}
    answered = 0
    first_after = random.uniform(0, INTERVAL_SECONDS)
    if not arrive_at_once:
        await asyncio.sleep(first_after)
        first_after = 0.0
    async with http.ws_connect(url) as ws:
        await ws.send_json({"type": "hello"})
        while (await ws.receive_json())["type"] != "welcome":
            pass

        async def send() -> None:
            await asyncio.sleep(first_after)
            number = 0
            while time.perf_counter() < stop_at:
                sent[f"m{number}"] = time.perf_counter()
                await ws.send_json({"type": "message", "client_id": f"m{number}", "text": texts[number % len(texts)]})
                number += 1
                pause = INTERVAL_SECONDS * random.uniform(1 - JITTER, 1 + JITTER)
                if time.perf_counter() + pause >= stop_at:
                    break  # done now, not after a last pause: the receiver stops at the last answer
                await asyncio.sleep(pause)

        sender = asyncio.create_task(send())
        try:
            while True:
                if sender.done() and answered >= len(sent):
                    break
                try:
                    frame = await ws.receive_json(timeout=30)
                except asyncio.TimeoutError:
                    result.failures += len(sent) - answered
                    break
                if frame["type"] == "ack":
                    waiting[frame["id"]] = sent[frame["client_id"]]
                    if acked is not None:
                        acked.append(frame["id"])
                elif frame["type"] == "message" and frame["sender"] == "bot" and waiting:
                    # the bot's reply names its question; what it says about people (a handoff, a left
                    # message) answers the oldest question waiting
                    question = frame.get("reply_to") if frame.get("reply_to") in waiting else None
                    if question is None and not frame.get("reply_to"):
                        question = next(iter(waiting))
                    if question is not None:
                        result.latencies_ms.append((time.perf_counter() - waiting.pop(question)) * 1000)
                        answered += 1
                elif frame["type"] in ("error", "notice") and frame.get("code") not in ("bot_available", "bot_slow"):
                    result.failures += 1
                    answered += 1
        finally:
            sender.cancel()


async def _customer_to_rasa(
    http: aiohttp.ClientSession, url: str, sender: str, texts: Sequence[str], stop_at: float, result: OpenLoopResult,
) -> None:
    """The same schedule straight to Rasa's gateway channel (what the gateway posts to); each message is its
    own request."""
    await asyncio.sleep(random.uniform(0, INTERVAL_SECONDS))
    requests = []

    async def one(text: str) -> None:
        started = time.perf_counter()
        try:
            async with http.post(url, json={"sender": sender, "message": text}) as response:
                replies = (await response.json()).get("messages")
            if replies:
                result.latencies_ms.append((time.perf_counter() - started) * 1000)
            else:
                result.failures += 1
        except (aiohttp.ClientError, asyncio.TimeoutError):
            result.failures += 1

    number = 0
    while time.perf_counter() < stop_at:
        requests.append(asyncio.create_task(one(texts[number % len(texts)])))
        number += 1
        await asyncio.sleep(INTERVAL_SECONDS * random.uniform(1 - JITTER, 1 + JITTER))
    await asyncio.gather(*requests)


async def run_open_loop(
    stack: RunningStack, path: str, customers: int, seconds: float, pool: Sequence[str]
) -> OpenLoopResult:
    """`customers` customers for `seconds` on `path` ("gateway" or "rasa"), CPU measured around the run."""
    result = OpenLoopResult(path, customers, seconds)
    pids = {name: service.process.pid for name, service in stack.services.items()}
    before = {name: process_cpu_seconds(pid) for name, pid in pids.items()}
    rng = random.Random(customers)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as http:
        stop_at = time.perf_counter() + seconds
        jobs = []
        for number in range(customers):
            texts = rng.sample(list(pool), 20)
            if path == "gateway":
                jobs.append(_customer_over_socket(http, stack.gateway_url + "/chat/socket", texts, stop_at, result))
            else:
                sender = f"open-loop-{customers}-{number}-{time.monotonic_ns()}"
                jobs.append(_customer_to_rasa(
                    http, stack.rasa_url + WEBHOOK_PATH, sender, texts, stop_at, result))
        await asyncio.gather(*jobs)
    after = {name: process_cpu_seconds(pid) for name, pid in pids.items()}
    short = {"action server": "actions", "Rasa server": "rasa", "chat gateway": "gateway"}
    result.cpu_seconds = {short.get(name, name): after[name] - before[name] for name in pids}
    return result


def _profile(pid: int, seconds: float, out: Path) -> subprocess.Popen:
    """py-spy recording `pid` for `seconds` into a raw (collapsed stacks) file."""
    py_spy = str(Path(sys.executable).with_name("py-spy"))
    return subprocess.Popen(
        [py_spy, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--format", "raw",
         "--output", str(out), "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def top_functions(collapsed: Path, count: int = 15) -> List[str]:
    """The functions with the most samples on the stack (inclusive), from py-spy's collapsed stacks, as
    share of the busy samples (a worker thread waiting for work or a loop waiting in select is idle)."""
    inclusive: Dict[str, int] = {}
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        frames = stack.split(";")
        if not samples.isdigit() or any(frames[-1].startswith(idle) for idle in IDLE_LEAVES):
            continue
        total += int(samples)
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + int(samples)
    ranked = sorted(inclusive.items(), key=lambda item: -item[1])
    # the loop's and the threads' own frames are on every stack and say nothing
    plumbing = ("threading.py", "runpy.py", "<module>", "asyncio/base_events.py", "asyncio/events.py",
                "concurrent/futures/thread.py", "aiohttp/web.py", "uvloop")
    shown = [(frame, n) for frame, n in ranked if not any(p in frame for p in plumbing)]
    return [f"{100 * n / max(1, total):5.1f}%  {frame}" for frame, n in shown[:count]]


def bot_questions() -> List[str]:
    """Knowledge-base questions the bot answers itself: the ones the gateway would hand to a person at
    once (anger words, asking for a person) are left out, so every message gets a bot turn."""
    rules = Rules.from_settings(load_settings().get("escalation") or {})
    return [text for text in questions() if rules.first_match(Turn(text=text), GATEWAY_SIDE_RULES) is None]


async def _measure(stack: RunningStack, customer_counts: Sequence[int], seconds: float,
                   profile: Optional[str], paths: Sequence[str] = ("rasa", "gateway")) -> List[OpenLoopResult]:
    pool = bot_questions()
    results = []
    # warm both paths: model caches, the action server, the SQLite file
    for path in ("rasa", "gateway"):
        await run_open_loop(stack, path, 10, 6, pool)
    for customers in customer_counts:
        for path in paths:
            profiler = None
            if profile and path == profile and customers == max(customer_counts):
                name = {"gateway": "chat gateway", "rasa": "Rasa server"}[profile]
                out = Path(tempfile.gettempdir()) / f"open-loop-{profile}.txt"
                profiler = (_profile(stack.services[name].process.pid, seconds, out), out)
            result = await run_open_loop(stack, path, customers, seconds, pool)
            print(result.line(), flush=True)
            results.append(result)
            if profiler:
                profiler[0].wait(timeout=60)
                print(f"py-spy, {profile} at {customers} customers (share of busy samples, inclusive):")
                for line in top_functions(profiler[1], 40):
                    print("   ", line)
    return results


def main(argv: Optional[Sequence[str]] = None) -> List[OpenLoopResult]:
    """Starts the product, runs the loads, prints the figures, stops everything."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, nargs="+", default=[100, 200, 300])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--profile", choices=["gateway", "rasa"], help="py-spy on this process in the largest run")
    parser.add_argument("--paths", nargs="+", choices=["rasa", "gateway"], default=["rasa", "gateway"],
                        help="which paths to load (default: both, straight to Rasa first)")
    args = parser.parse_args(argv)
    model = project_path(load_settings()["rasa"]["model"])
    if not model.exists():
        raise SystemExit(f"No trained model at {model}: run `make train` first (make bench does).")
    print(f"== Open loop: each customer sends every {INTERVAL_SECONDS:.0f} s (±{JITTER:.0%}) "
          f"for {args.seconds:.0f} s, through the gateway and straight to Rasa ==")
    with tempfile.TemporaryDirectory(prefix="bench-open-loop-") as work, running_stack(model, Path(work), {
        # a load test is a flood by design; the limiter is measured in the tests, not here
        "SHOP_GATEWAY_RATE_LIMIT_BURST": "1000000",
        "SHOP_GATEWAY_BOT_NOTICE_AFTER_SECONDS": "60",
        "SHOP_GATEWAY_BOT_TIMEOUT_SECONDS": "120",
    }, quiet=True) as stack:
        results = asyncio.run(_measure(stack, args.customers, args.seconds, args.profile, args.paths))
        memory = {name: peak_memory_mb(service.process.pid) for name, service in stack.services.items()}
    print("peak memory (VmHWM): " + ", ".join(f"{name} {mb:.0f} MiB" for name, mb in memory.items()))
    best = max((r for r in results if r.path == "gateway" and r.latencies_ms
                and percentile(r.latencies_ms, 0.95) <= 1000), key=lambda r: r.replies / r.duration, default=None)
    if best:
        print(f"highest gateway rate with p95 <= 1 s: {best.replies / best.duration:.1f} replies/s "
              f"({best.customers} customers)")
    return results


if __name__ == "__main__":
    main()
