"""`make run`: starts the action server and the Rasa server, waits until both answer, stops both on Ctrl-C."""

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
from typing import List, Optional

from bot.settings import PROJECT_ROOT, project_path, settings

STARTUP_TIMEOUT_SECONDS = 180


@dataclass
class Service:
    """A child process and the URL that tells when it is ready."""

    name: str
    command: List[str]
    health_url: str
    process: Optional[subprocess.Popen] = field(default=None, repr=False)

    def start(self, env: dict) -> None:
        """Starts the process in its own process group, so it can be stopped with its children."""
        self.process = subprocess.Popen(self.command, cwd=PROJECT_ROOT, env=env, start_new_session=True)

    def is_ready(self) -> bool:
        """True once the health URL answers 200."""
        try:
            with urllib.request.urlopen(self.health_url, timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

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


def write_endpoints(actions_url: str, directory: Path) -> Path:
    """Rasa's endpoints file pointing at the configured action server."""
    path = directory / "endpoints.yml"
    path.write_text(f'action_endpoint:\n  url: "{actions_url}"\n', encoding="utf-8")
    return path


def build_services(work_dir: Path) -> List[Service]:
    """The action server and the Rasa server, as the settings describe them."""
    config = settings()
    rasa_bin = str(Path(sys.executable).with_name("rasa"))
    actions = config["actions"]
    rasa = config["rasa"]
    actions_base = f"http://{actions['host']}:{actions['port']}"
    endpoints = write_endpoints(f"{actions_base}/webhook", work_dir)
    return [
        Service(
            "action server",
            [rasa_bin, "run", "actions", "--actions", "actions", "--port", str(actions["port"])],
            f"{actions_base}/health",
        ),
        Service(
            "Rasa server",
            [
                rasa_bin, "run", "--enable-api",
                "--model", str(project_path(rasa["model"])),
                "--endpoints", str(endpoints),
                "--credentials", str(PROJECT_ROOT / "credentials.yml"),
                "--interface", rasa["host"], "--port", str(rasa["port"]),
            ],
            f"http://{rasa['host']}:{rasa['port']}/status",
        ),
    ]


def main() -> int:
    """Runs until Ctrl-C or until a service dies; returns the exit code."""
    model = project_path(settings()["rasa"]["model"])
    if not model.exists():
        print(f"No trained model at {model}: run `make run` (it trains first) or `make train`.")
        return 1
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "RASA_TELEMETRY_ENABLED": "false"}
    stopping = False

    def request_stop(signum, frame):  # noqa: ARG001 - signal handler signature
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    with tempfile.TemporaryDirectory(prefix="shop-run-") as work_dir:
        services = build_services(Path(work_dir))
        try:
            for service in services:
                service.start(env)
            deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
            pending = list(services)
            print("Starting the action server and the Rasa server (about 30 seconds)...")
            while pending and not stopping:
                for service in list(pending):
                    if service.process.poll() is not None:
                        print(f"The {service.name} exited during start-up; see its output above.")
                        return 1
                    if service.is_ready():
                        pending.remove(service)
                if time.monotonic() > deadline:
                    names = ", ".join(s.name for s in pending)
                    print(f"Timed out waiting for: {names}")
                    return 1
                time.sleep(0.5)
            if not stopping:
                rasa = settings()["rasa"]
                print(
                    "\nThe bot is running.\n"
                    "  Talk to it in a terminal:  make chat\n"
                    f"  REST channel:              POST http://{rasa['host']}:{rasa['port']}"
                    '/webhooks/rest/webhook {"sender": "me", "message": "退款多久到账"}\n'
                    "  Stop:                      Ctrl-C\n",
                    flush=True,
                )
            while not stopping:
                for service in services:
                    if service.process.poll() is not None:
                        print(f"The {service.name} stopped unexpectedly; stopping everything.")
                        return 1
                time.sleep(0.5)
            return 0
        finally:
            print("Stopping...", flush=True)
            for service in reversed(services):
                service.stop()
            print("Stopped.")


if __name__ == "__main__":
    sys.exit(main())
