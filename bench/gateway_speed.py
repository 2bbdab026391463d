"""Throughput and reply latency through the chat gateway against the same load sent straight to Rasa.

Starts the action server, the Rasa server and the gateway on loopback (as
`make run` does, with models/shop.tar.gz), then for 1, 50 and 200 concurrent
customer sessions sends knowledge-base questions one after another per session:
  - via the gateway: WebSocket `hello`, then `message` frames, timing each until
    the bot's reply frame arrives;
  - straight to Rasa: POST /webhooks/gateway/webhook (what the gateway posts to), timing each until
    the response.
Both paths get the same questions in the same run; the ratio is the gateway's overhead.

Run: `make bench` (all) or `.venv/bin/python -m bench.gateway_speed`.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Sequence

import aiohttp

from bench.server_speed import peak_memory_mb, percentile
from bot.gateway.address_limits import LOAD_TEST_ENVIRONMENT
from bot.gateway.rasa_client import WEBHOOK_PATH
from bot.run import build_services, wait_until_ready
from core.settings import load_settings, project_path
from knowledge import load_knowledge_base

ROOT = Path(__file__).resolve().parent.parent
CONCURRENCY = (1, 50, 200)
REPLY_TIMEOUT = aiohttp.ClientTimeout(total=120)


@dataclass
class LoadResult:
    """One load run: how many replies, how long in all, and each reply's latency."""

    path: str
    sessions: int
    seconds: float
    latencies_ms: List[float]

    @property
    def per_second(self) -> float:
        return len(self.latencies_ms) / self.seconds

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms)

    @property
    def p95(self) -> float:
        return percentile(self.latencies_ms, 0.95)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def questions() -> List[str]:
    """Customer questions with a single knowledge-base answer each: paraphrases of every entry."""
    kb = load_knowledge_base(ROOT / "data" / "kb")
    return [paraphrase for entry in kb for paraphrase in entry.paraphrases[:2]]


async def _gateway_session(http: aiohttp.ClientSession, url: str, texts: Sequence[str], out: List[float]) -> None:
    async with http.ws_connect(url) as ws:
        await ws.send_json({"type": "hello"})
        while (await ws.receive_json())["type"] != "welcome":
            pass
        for number, text in enumerate(texts):
            started = time.perf_counter()
            await ws.send_json({"type": "message", "client_id": f"m{number}", "text": text})
            while True:
                frame = await ws.receive_json()
                if frame["type"] == "message" and frame["sender"] == "bot":
                    break
                if frame["type"] in ("error", "notice") and frame.get("code") != "bot_available":
                    raise RuntimeError(f"gateway refused or failed: {frame}")
            out.append((time.perf_counter() - started) * 1000)


async def _rasa_session(http: aiohttp.ClientSession, url: str, sender: str, texts: Sequence[str],
                        out: List[float]) -> None:
    for text in texts:
        started = time.perf_counter()
        async with http.post(url, json={"sender": sender, "message": text}) as response:
            replies = (await response.json()).get("messages")
        if not replies:
            raise RuntimeError(f"Rasa gave no reply to {text!r}")
        out.append((time.perf_counter() - started) * 1000)


async def run_load(path: str, base_url: str, sessions: int, per_session: int, pool: Sequence[str]) -> LoadResult:
    """`sessions` concurrent customers, each sending `per_session` questions one after another."""
    latencies: List[float] = []
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=REPLY_TIMEOUT) as http:
        jobs = []
        for number in range(sessions):
            texts = [pool[(number * per_session + k) % len(pool)] for k in range(per_session)]
            if path == "gateway":
                jobs.append(_gateway_session(http, base_url + "/chat/socket", texts, latencies))
            else:
                sender = f"bench-{path}-{sessions}-{number}-{time.monotonic_ns()}"
                jobs.append(_rasa_session(http, base_url + WEBHOOK_PATH, sender, texts, latencies))
        started = time.perf_counter()
        await asyncio.gather(*jobs)
        seconds = time.perf_counter() - started
    return LoadResult(path, sessions, seconds, latencies)


def _print(result: LoadResult) -> None:
    print(
        f"{result.path:>7} {result.sessions:>4} sessions: {len(result.latencies_ms):>4} replies in "
        f"{result.seconds:6.1f} s = {result.per_second:6.1f} msg/s, p50 {result.p50:7.1f} ms, p95 {result.p95:7.1f} ms"
    )


async def _measure(rasa_url: str, gateway_url: str) -> List[Dict[str, float]]:
    pool = questions()
    rows = []
    # warm both paths (model caches, action server, SQLite file)
    await run_load("rasa", rasa_url, 4, 3, pool)
    await run_load("gateway", gateway_url, 4, 3, pool)
    for sessions in CONCURRENCY:
        per_session = 60 if sessions == 1 else max(2, 400 // sessions)
        direct = await run_load("rasa", rasa_url, sessions, per_session, pool)
        through = await run_load("gateway", gateway_url, sessions, per_session, pool)
        _print(direct)
        _print(through)
        print(
            f"        gateway / straight to Rasa: throughput {through.per_second / direct.per_second:.2f}x, "
            f"p50 {through.p50 / direct.p50:.2f}x, p95 {through.p95 / direct.p95:.2f}x"
        )
        rows.append({"sessions": sessions, "direct_per_s": direct.per_second, "gateway_per_s": through.per_second,
                     "direct_p50": direct.p50, "gateway_p50": through.p50,
                     "direct_p95": direct.p95, "gateway_p95": through.p95})
    return rows


def main() -> List[Dict[str, float]]:
    """Starts the product, runs the loads, prints the figures, stops everything."""
    model = project_path(load_settings()["rasa"]["model"])
    if not model.exists():
        raise SystemExit(f"No trained model at {model}: run `make train` first (make bench does).")
    print("== Chat gateway against straight-to-Rasa, same run ==")
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as work:
        ports = {"ACTIONS": _free_port(), "RASA": _free_port(), "GATEWAY": _free_port()}
        env = {
            **os.environ, "PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false",
            **{f"SHOP_{name}_PORT": str(port) for name, port in ports.items()},
            "SHOP_DATABASE_URL": f"sqlite:///{work}/bench.db",
            "SHOP_RASA_TRACKER_STORE_URL": f"sqlite:///{work}/rasa-trackers.db",
            # a load test is a flood by design; the limiter is measured in the tests, not here
            "SHOP_GATEWAY_RATE_LIMIT_BURST": "1000000",
            **LOAD_TEST_ENVIRONMENT,
            "SHOP_GATEWAY_BOT_NOTICE_AFTER_SECONDS": "60",
            "SHOP_GATEWAY_BOT_TIMEOUT_SECONDS": "120",
        }
        services = build_services(Path(work), load_settings(environ=env), model=model)
        for service in services:
            service.start(env)
        try:
            problem = wait_until_ready(services, 240)
            if problem:
                raise RuntimeError(problem)
            rows = asyncio.run(
                _measure(f"http://127.0.0.1:{ports['RASA']}", f"http://127.0.0.1:{ports['GATEWAY']}")
            )
            gateway_mb = peak_memory_mb(services[-1].process.pid)
            print(f"peak memory of the gateway process (VmHWM): {gateway_mb:.0f} MiB")
        finally:
            for service in reversed(services):
                service.stop()
    return rows


if __name__ == "__main__":
    main()
