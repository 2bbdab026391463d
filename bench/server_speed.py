"""Full-model training time, parse latency p50/p95 per message, peak memory of the Rasa server.

Run: `make bench` (all) or `.venv/bin/python -m bench.server_speed`.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict, List

from rasa.shared.nlu.training_data.loading import load_data

from bot.rasa_auth import with_token
from bot.run import Service

ROOT = Path(__file__).resolve().parent.parent
RASA = str(Path(sys.executable).with_name("rasa"))


def _env() -> Dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false"}


def train_full_model(out: Path) -> float:
    """Seconds for `rasa train` of the whole project (NLU and rules), as `make train` runs it."""
    started = time.perf_counter()
    subprocess.run(
        [RASA, "train", "--data", "data/nlu", "data/rules", "--out", str(out),
         "--fixed-model-name", "shop", "--force"],
        cwd=ROOT, env=_env(), check=True, capture_output=True,
    )
    return time.perf_counter() - started


def peak_memory_mb(pid: int) -> float:
    """The process's peak resident set (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: List[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main(messages: int = 500) -> Dict[str, Any]:
    """Trains, starts `rasa run --enable-api`, parses `messages` texts one at a time over HTTP."""
    texts = [m.get("text") for m in load_data(str(ROOT / "data" / "nlu")).intent_examples]
    texts = (texts * (messages // len(texts) + 1))[:messages]
    with tempfile.TemporaryDirectory() as work:
        train_seconds = train_full_model(Path(work))
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        token = secrets.token_hex(16)  # Rasa's API takes a token, as `make run` starts it (bot/rasa_auth.py)
        server = Service(
            "Rasa server",
            [RASA, "run", "--enable-api", "--model", str(Path(work) / "shop.tar.gz"),
             "--interface", "127.0.0.1", "--port", str(port), "--auth-token", token],
            with_token(f"http://127.0.0.1:{port}/status", token),
        )
        server.start(_env())
        try:
            started = time.monotonic()
            while not server.is_ready():
                if server.process.poll() is not None or time.monotonic() - started > 240:
                    raise RuntimeError("the Rasa server did not start")
                time.sleep(0.5)
            startup = time.monotonic() - started
            latencies = []
            for text in texts:
                body = json.dumps({"text": text}).encode("utf-8")
                request = urllib.request.Request(
                    with_token(f"http://127.0.0.1:{port}/model/parse", token), body,
                    {"Content-Type": "application/json"},
                )
                t0 = time.perf_counter()
                with urllib.request.urlopen(request, timeout=30) as response:
                    response.read()
                latencies.append((time.perf_counter() - t0) * 1000)
            memory = peak_memory_mb(server.process.pid)
        finally:
            server.stop()
    result = {
        "train_seconds": train_seconds,
        "startup_seconds": startup,
        "p50_ms": statistics.median(latencies),
        "p95_ms": percentile(latencies, 0.95),
        "peak_mb": memory,
        "messages": len(latencies),
    }
    print("== Full model and Rasa server ==")
    print(f"rasa train (NLU + rules, --force): {train_seconds:.1f} s")
    print(f"server start-up until /status answers: {startup:.1f} s")
    print(
        f"parse latency over {len(latencies)} sequential /model/parse calls: "
        f"p50 {result['p50_ms']:.1f} ms, p95 {result['p95_ms']:.1f} ms"
    )
    print(f"peak memory of the Rasa server (VmHWM): {memory:.0f} MiB")
    return result


if __name__ == "__main__":
    main()
