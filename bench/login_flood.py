"""Customers' `hello` latency while someone guesses console passwords as fast as they can.

Starts a gateway process (`python -m bot.gateway`, its own SQLite database, no Rasa needed for a hello) with
one console account, then measures POST /chat/api/hello latency (p50, p95) from one customer saying hello
every 20 ms:
  - with no flood;
  - during a flood: `FLOOD_CLIENTS` concurrent clients posting wrong passwords to /console/api/login back to
    back, with the login throttle and the per-address limits lifted, so every guess costs an argon2id
    verification (the worst case for the password threads);
  - during the same flood with the settings as shipped (the lockout refuses the flood before any hashing).
Passwords are checked in their own threads (console.hash_threads), not the database thread, so customers'
hellos should barely move; before that, scrypt ran on the single database thread.

Run: `.venv/bin/python -m bench.login_flood` (part of `make bench`); `--checkout DIR` runs the gateway of
another checkout (e.g. the code before the change) with the same client, for a before/after figure.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import aiohttp

from bench.server_speed import percentile

ROOT = Path(__file__).resolve().parent.parent
FLOOD_CLIENTS = 16
PHASE_SECONDS = 6.0
HELLO_EVERY = 0.02
PASSWORD = "bench-pass-123"
# what lifts every limit a flood from one address would hit (the worst case for the password threads)
UNLIMITED = {
    "SHOP_CONSOLE_MAX_FAILURES_PER_USERNAME": "1000000",
    "SHOP_CONSOLE_MAX_FAILURES_PER_ADDRESS": "1000000",
    **{f"SHOP_GATEWAY_ADDRESS_{kind}_{field}": "1000000"
       for kind in ("CONVERSATIONS", "MESSAGES", "LEAVE_MESSAGES", "LOGINS") for field in ("BURST", "PER_MINUTE")},
}
# the shipped login limits, with only the customers' per-address limits lifted (the bench's one customer
# says hello 50 times a second from 127.0.0.1)
SHIPPED = {key: value for key, value in UNLIMITED.items() if "LOGINS" not in key and "CONSOLE" not in key}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _environment(checkout: Path, database: str, port: int, extra: Dict[str, str]) -> Dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(checkout), "SHOP_DATABASE_URL": database,
            "SHOP_GATEWAY_PORT": str(port), "SHOP_GATEWAY_RASA_URLS": "http://127.0.0.1:9",
            "SHOP_GATEWAY_REDIS_URL": "", **extra}


async def _wait_until_up(base: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the gateway exited with {process.returncode}")
            try:
                async with session.post(base + "/chat/api/hello", json={}) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.3)
    raise RuntimeError("the gateway did not start within a minute")


async def _hellos(base: str, seconds: float) -> List[float]:
    """One customer saying hello every HELLO_EVERY seconds; each hello's latency in ms."""
    latencies: List[float] = []
    async with aiohttp.ClientSession() as session:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            started = time.perf_counter()
            async with session.post(base + "/chat/api/hello", json={}) as response:
                await response.read()
                assert response.status == 200, response.status
            latencies.append(1000 * (time.perf_counter() - started))
            await asyncio.sleep(HELLO_EVERY)
    return latencies


async def _flood(base: str, stop: asyncio.Event, counts: Dict[int, int]) -> None:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=FLOOD_CLIENTS)) as session:

        async def guesser(n: int) -> None:
            while not stop.is_set():
                async with session.post(base + "/console/api/login",
                                        json={"username": "li", "password": f"guess-{n}-{time.time()}"}) as response:
                    await response.read()
                    counts[response.status] = counts.get(response.status, 0) + 1

        await asyncio.gather(*(guesser(n) for n in range(FLOOD_CLIENTS)))


async def _phase(base: str, flood: bool) -> Dict[str, object]:
    stop = asyncio.Event()
    counts: Dict[int, int] = {}
    flooding = asyncio.ensure_future(_flood(base, stop, counts)) if flood else None
    if flooding:
        await asyncio.sleep(0.5)  # the flood is running before the customer comes
    latencies = await _hellos(base, PHASE_SECONDS)
    stop.set()
    if flooding:
        await flooding
    return {"p50": statistics.median(latencies), "p95": percentile(latencies, 0.95), "hellos": len(latencies),
            "guesses": counts}


async def _measure(checkout: Path, limits: Dict[str, str], flood: bool) -> Dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        database = f"sqlite:///{tmp}/bench.db"
        port = _free_port()
        env = _environment(checkout, database, port, limits)
        subprocess.run([sys.executable, "-m", "handoff.accounts", "add", "li", "--password-stdin"], cwd=checkout,
                       env=env, input=PASSWORD + "\n", text=True, check=True, capture_output=True)
        process = subprocess.Popen([sys.executable, "-m", "bot.gateway"], cwd=checkout, env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            await _wait_until_up(base, process)
            await _hellos(base, 3.0)  # warm up (the gateway loads jieba and spaCy in the background at start)
            return await _phase(base, flood)
        finally:
            process.terminate()
            process.wait(timeout=20)


def _row(label: str, result: Dict[str, object]) -> str:
    guesses = result["guesses"]
    total = sum(guesses.values())  # type: ignore[union-attr]
    refused = guesses.get(429, 0)  # type: ignore[union-attr]
    flood = f"{total / PHASE_SECONDS:.0f}/s ({refused} refused 429)" if total else "-"
    return f"| {label} | {result['p50']:.1f} | {result['p95']:.1f} | {result['hellos']} | {flood} |"


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Prints a table of customers' hello latency without and with a login flood."""
    parser = argparse.ArgumentParser(prog="python -m bench.login_flood")
    parser.add_argument("--checkout", type=Path, default=ROOT, help="run the gateway of this checkout")
    args = parser.parse_args(argv)
    checkout = args.checkout.resolve()
    print(f"\n## Customers' hello during a console login flood ({FLOOD_CLIENTS} guessing clients, "
          f"{PHASE_SECONDS:.0f} s each, gateway from {checkout})")
    print("| situation | hello p50 ms | hello p95 ms | hellos | guesses |")
    print("| --- | --- | --- | --- | --- |")
    print(_row("no flood", asyncio.run(_measure(checkout, UNLIMITED, flood=False))), flush=True)
    print(_row("flood, no throttle (every guess hashed)", asyncio.run(_measure(checkout, UNLIMITED, flood=True))),
          flush=True)
    print(_row("flood, settings as shipped (lockout)", asyncio.run(_measure(checkout, SHIPPED, flood=True))),
          flush=True)


if __name__ == "__main__":
    main()
