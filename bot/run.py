"""`make run`: starts the action server, the Rasa server and the chat gateway, waits until all answer,
prints the one URL to open, and stops them all on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

from bot.rasa_auth import rasa_auth_token, with_token
from bot.rasa_endpoints import write_endpoints
from core.settings import PROJECT_ROOT, load_settings, project_path

STARTUP_TIMEOUT_SECONDS = 180


@dataclass
class Service:
    """A child process and the URL that tells when it is ready."""

    name: str
    command: List[str]
    health_url: str
    process: Optional[subprocess.Popen] = field(default=None, repr=False)
    # this process's own settings (SHOP_* variables) on top of the environment it is started with
    env: Dict[str, str] = field(default_factory=dict)

    def start(self, env: dict, log: Optional[Path] = None) -> None:
        """Starts the process in its own process group, so it can be stopped with its children;
        its output goes to `log` when given (benchmarks), else to this terminal."""
        output = open(log, "ab") if log else None  # noqa: SIM115 - the child keeps it open
        self.process = subprocess.Popen(
            self.command, cwd=PROJECT_ROOT, env={**env, **self.env}, start_new_session=True, stdout=output,
            stderr=output,
        )
        if output:
            output.close()

    def is_ready(self) -> bool:
        """True once the health URL answers 200."""
        try:
            with urllib.request.urlopen(self.health_url, timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def kill(self) -> None:
        """SIGKILL to the group at once: a crash, as the fault tests make one."""
        if self.process and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM to the group, SIGKILL if it has not gone after 10 seconds."""
        if not self.process or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def build_services(
    work_dir: Path, config: Mapping[str, Dict[str, Any]], model: Optional[Path] = None
) -> List[Service]:
    """The action server, the Rasa server and the gateway, as the settings describe them."""
    actions, rasa, gateway = config["actions"], config["rasa"], config["gateway"]
    actions_base = f"http://{actions['host']}:{actions['port']}"
    endpoints = write_endpoints(f"{actions_base}/webhook", rasa, work_dir)
    token = rasa_auth_token(rasa)
    return [
        Service(
            "action server",
            # `rasa run actions` without per-request work nobody reads (bot/action_server.py)
            [sys.executable, "-m", "bot.action_server", "--actions", "actions", "--port", str(actions["port"])],
            f"{actions_base}/health",
            # rasa-sdk has no interface argument: it listens on SANIC_HOST, 0.0.0.0 without it
            env={"SANIC_HOST": str(actions["host"])},
        ),
        Service(
            "Rasa server",
            [
                # `rasa run` without the work it repeats needlessly per message (bot/rasa_speedups.py)
                sys.executable, "-m", "bot.rasa_server", "run", "--enable-api",
                "--model", str(model or project_path(rasa["model"])),
                "--endpoints", str(endpoints),
                "--credentials", str(PROJECT_ROOT / "credentials.yml"),
                "--interface", rasa["host"], "--port", str(rasa["port"]),
                "--auth-token", token,
            ],
            with_token(f"http://{rasa['host']}:{rasa['port']}/status", token),
        ),
        Service(
            "chat gateway",
            [sys.executable, "-m", "bot.gateway"],
            f"http://{gateway['host']}:{gateway['port']}/health",
        ),
    ]


def wait_until_ready(services: List[Service], timeout: float, stopping=lambda: False) -> Optional[str]:
    """Waits for every service's health URL; returns a problem description, or None when all are up."""
    deadline = time.monotonic() + timeout
    pending = list(services)
    while pending and not stopping():
        for service in list(pending):
            if service.process.poll() is not None:
                return f"The {service.name} exited during start-up; see its output above."
            if service.is_ready():
                pending.remove(service)
        if time.monotonic() > deadline:
            return "Timed out waiting for: " + ", ".join(s.name for s in pending)
        time.sleep(0.5)
    return None


def supervise(services: List[Service], env: dict, starting: str, ready: str, restart: bool) -> int:
    """Starts `services` in order, prints `starting`, then `ready` once all answer, and runs until Ctrl-C (or
    SIGTERM). A service that dies is started again when `restart`; otherwise everything stops."""
    stopping = False

    def request_stop(signum, frame):  # noqa: ARG001 - signal handler signature
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        for service in services:
            service.start(env)
        print(starting, flush=True)
        problem = wait_until_ready(services, STARTUP_TIMEOUT_SECONDS, lambda: stopping)
        if problem:
            print(problem)
            return 1
        if not stopping:
            print(ready, flush=True)
        while not stopping:
            for service in services:
                if service.process.poll() is None or stopping:
                    continue
                if not restart:
                    print(f"The {service.name} stopped unexpectedly; stopping everything.")
                    return 1
                print(f"The {service.name} stopped (exit {service.process.returncode}); starting it again.",
                      flush=True)
                service.start(env)
            time.sleep(0.5)
        return 0
    finally:
        print("Stopping...", flush=True)
        for service in reversed(services):
            service.stop()
        print("Stopped.")


def main() -> int:
    """Runs until Ctrl-C or until a service dies; returns the exit code."""
    config = load_settings()
    model = project_path(config["rasa"]["model"])
    if not model.exists():
        print(f"No trained model at {model}: run `make run` (it trains first) or `make train`.")
        return 1
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "RASA_TELEMETRY_ENABLED": "false"}
    gateway = config["gateway"]
    with tempfile.TemporaryDirectory(prefix="shop-run-") as work_dir:
        return supervise(
            build_services(Path(work_dir), config), env,
            "Starting the action server, the Rasa server and the chat gateway (about 30 seconds)...",
            f"\nOpen http://{gateway['host']}:{gateway['port']}/ to chat with the bot on the demo shop page."
            "\n(Agents: /console, supervisors: /dashboard; accounts: python -m handoff.accounts add."
            " Terminal chat: make chat. Stop: Ctrl-C.)\n",
            restart=False,
        )


if __name__ == "__main__":
    sys.exit(main())
