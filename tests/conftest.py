"""Session fixtures: real Rasa models, trained once per test run, and the whole product (action server,
Rasa server, chat gateway) on loopback, started once the way `make run` starts them (bot/run.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List

import pytest

from bot.run import Service, build_services, wait_until_ready
from bot.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]
RASA = str(Path(sys.executable).with_name("rasa"))

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def rasa_env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false"}


@pytest.fixture(scope="session")
def full_model(tmp_path_factory) -> Path:
    """The shop's complete model (NLU and rules), trained with `rasa train` as `make run` does."""
    out = tmp_path_factory.mktemp("model")
    result = subprocess.run(
        [
            RASA, "train", "--data", "data/nlu", "data/rules", "--config", "config.yml",
            "--domain", "domain.yml", "--out", str(out), "--fixed-model-name", "shop",
        ],
        cwd=ROOT, env=rasa_env(), capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out / "shop.tar.gz"


STARTUP_SECONDS = 240


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RunningStack:
    """The running services, by name, with their URLs; a test may stop and restart Rasa."""

    services: Dict[str, Service]
    env: Dict[str, str]
    rasa_url: str
    gateway_url: str

    def stop(self, name: str) -> None:
        self.services[name].stop()

    def start(self, name: str) -> None:
        """Starts a stopped service again and waits until it answers."""
        service = self.services[name]
        if service.process is None or service.process.poll() is not None:
            service.start(self.env)
        problem = wait_until_ready([service], STARTUP_SECONDS)
        assert problem is None, problem


@pytest.fixture(scope="session")
def stack(full_model: Path, tmp_path_factory) -> RunningStack:
    work = tmp_path_factory.mktemp("stack")
    ports = {"ACTIONS": free_port(), "RASA": free_port(), "GATEWAY": free_port()}
    env = {
        **rasa_env(),
        **{f"SHOP_{name}_PORT": str(port) for name, port in ports.items()},
        "SHOP_DATABASE_URL": f"sqlite:///{work / 'shop.db'}",
        # quick notices so the browser test of an outage does not wait long
        "SHOP_GATEWAY_BOT_NOTICE_AFTER_SECONDS": "2",
        "SHOP_GATEWAY_BOT_TIMEOUT_SECONDS": "10",
        # the suite's scripted conversations type faster than a person
        "SHOP_GATEWAY_RATE_LIMIT_BURST": "50",
        # people answer around the clock here, so the suite does not depend on the time it runs
        "SHOP_HANDOFF_HOURS": "00:00-23:59:59",
    }
    services: List[Service] = build_services(work, load_settings(environ=env), model=full_model)
    for service in services:
        service.start(env)
    try:
        problem = wait_until_ready(services, STARTUP_SECONDS)
        assert problem is None, problem
        yield RunningStack(
            {service.name: service for service in services},
            env,
            rasa_url=f"http://127.0.0.1:{ports['RASA']}",
            gateway_url=f"http://127.0.0.1:{ports['GATEWAY']}",
        )
    finally:
        for service in reversed(services):
            service.stop()
