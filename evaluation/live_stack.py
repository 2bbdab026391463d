"""The whole product (action server, Rasa server, chat gateway) started on free loopback ports, as `make run`
starts it (bot/run.py), with its own SQLite database: for tests and benchmarks that need the real path."""

from __future__ import annotations

import os
import secrets
import socket
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Mapping, Optional

from bot.gateway.address_limits import LOAD_TEST_ENVIRONMENT
from bot.rasa_auth import with_token
from bot.run import Service, build_services, wait_until_ready
from core.settings import PROJECT_ROOT, load_settings

STARTUP_SECONDS = 240


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# the shop's signing secret in stacks started for tests and benchmarks (not a production value), so that
# they can sign customers: core.customer_identity.signed_claim(STACK_IDENTITY_SECRET, "C1", "gold")
STACK_IDENTITY_SECRET = "stack-identity-secret-for-tests"


def rasa_env() -> Dict[str, str]:
    """The environment Rasa and the actions run in."""
    return {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "RASA_TELEMETRY_ENABLED": "false"}


@dataclass
class RunningStack:
    """The running services, by name, with their URLs and database; a test may stop and restart one."""

    services: Dict[str, Service]
    env: Dict[str, str]
    rasa_url: str
    gateway_url: str
    database_url: str
    # what Rasa's HTTP API takes (bot/rasa_auth.py)
    rasa_token: str = ""

    def rasa_api(self, path: str) -> str:
        """The URL of Rasa's API at `path` (e.g. /conversations/x/tracker), with the token it needs."""
        return with_token(self.rasa_url + path, self.rasa_token)

    def stop(self, name: str) -> None:
        """Stops one service (e.g. "Rasa server")."""
        self.services[name].stop()

    def start(self, name: str) -> None:
        """Starts a stopped service again and waits until it answers."""
        service = self.services[name]
        if service.process is None or service.process.poll() is not None:
            service.start(self.env)
        problem = wait_until_ready([service], STARTUP_SECONDS)
        if problem:
            raise RuntimeError(problem)


@contextmanager
def running_stack(
    model: Path, work: Path, extra_env: Optional[Mapping[str, str]] = None, quiet: bool = False,
) -> Iterator[RunningStack]:
    """Starts the three services with `model`, yields them once all answer, stops them afterwards.

    `quiet` sends the services' output to `<work>/<service>.log` instead of this terminal."""
    ports = {"ACTIONS": free_port(), "RASA": free_port(), "GATEWAY": free_port()}
    database_url = f"sqlite:///{work / 'shop.db'}"
    env = {
        **rasa_env(),
        **{f"SHOP_{name}_PORT": str(port) for name, port in ports.items()},
        "SHOP_DATABASE_URL": database_url,
        "SHOP_RASA_TRACKER_STORE_URL": f"sqlite:///{work / 'rasa-trackers.db'}",
        # people answer around the clock here, so results do not depend on the time of day
        "SHOP_HANDOFF_HOURS": "00:00-23:59:59",
        "SHOP_IDENTITY_SECRET": STACK_IDENTITY_SECRET,
        "SHOP_RASA_AUTH_TOKEN": secrets.token_hex(16),
        # every simulated customer comes from 127.0.0.1: no per-address limit (extra_env may set one)
        **LOAD_TEST_ENVIRONMENT,
        **(extra_env or {}),
    }
    services: List[Service] = build_services(work, load_settings(environ=env), model=model)
    for service in services:
        service.start(env, work / f"{service.name.replace(' ', '-')}.log" if quiet else None)
    try:
        problem = wait_until_ready(services, STARTUP_SECONDS)
        if problem:
            raise RuntimeError(problem)
        yield RunningStack(
            {service.name: service for service in services},
            env,
            rasa_url=f"http://127.0.0.1:{ports['RASA']}",
            gateway_url=f"http://127.0.0.1:{ports['GATEWAY']}",
            database_url=database_url,
            rasa_token=env["SHOP_RASA_AUTH_TOKEN"],
        )
    finally:
        for service in reversed(services):
            service.stop()


@dataclass
class ScaledStack:
    """The scaled setup's processes (bot/run_scaled.py) on free loopback ports: by name ("action server 1",
    "Rasa 2", "gateway 1", "nginx"), with the URLs a test or benchmark needs."""

    services: Dict[str, Service]
    env: Dict[str, str]
    public_url: str
    gateway_urls: List[str]
    rasa_urls: List[str]
    database_url: str
    redis_url: str

    logs: Path = Path(".")
    # what Rasa's HTTP API takes (bot/rasa_auth.py)
    rasa_token: str = ""

    def rasa_api(self, rasa_url: str, path: str) -> str:
        """The URL of one Rasa process's API at `path`, with the token it needs."""
        return with_token(rasa_url + path, self.rasa_token)

    def kill(self, name: str) -> None:
        """kill -9 of one process (and its children)."""
        self.services[name].kill()

    def start(self, name: str) -> None:
        """Starts a stopped process again and waits until it answers."""
        service = self.services[name]
        if service.process is None or service.process.poll() is not None:
            service.start(self.env, self.logs / f"{name.replace(' ', '-')}.log")
        problem = wait_until_ready([service], STARTUP_SECONDS)
        if problem:
            raise RuntimeError(problem)


@contextmanager
def running_scaled_stack(
    model: Path, work: Path, database_url: str, redis_url: str, extra_env: Optional[Mapping[str, str]] = None,
    gateways: int = 2, rasa_processes: int = 2, action_servers: int = 2,
) -> Iterator[ScaledStack]:
    """Starts the scaled setup with `model` on `database_url` (migrated here first) and `redis_url`, every
    process's output in `<work>/<name>.log`; yields once all answer, stops them afterwards."""
    from bot.run_scaled import ScaledPorts, build_scaled_services, migrate

    ports = ScaledPorts(
        public=free_port(), gateways=[free_port() for _ in range(gateways)],
        rasa=[free_port() for _ in range(rasa_processes)], action_servers=[free_port() for _ in range(action_servers)],
        actions_upstream=free_port(),
    )
    env = {
        **rasa_env(),
        "SHOP_SCALED_DATABASE_URL": database_url,
        "SHOP_SCALED_REDIS_URL": redis_url,
        "SHOP_HANDOFF_HOURS": "00:00-23:59:59",
        "SHOP_IDENTITY_SECRET": STACK_IDENTITY_SECRET,
        "SHOP_RASA_AUTH_TOKEN": secrets.token_hex(16),
        # every simulated customer comes from 127.0.0.1 through nginx: no per-address limit
        **LOAD_TEST_ENVIRONMENT,
        **(extra_env or {}),
    }
    migrate(database_url)
    services = build_scaled_services(work, load_settings(environ=env), ports, model=model)
    for service in services:
        service.start(env, work / f"{service.name.replace(' ', '-')}.log")
    try:
        problem = wait_until_ready(services, STARTUP_SECONDS)
        if problem:
            raise RuntimeError(problem)
        yield ScaledStack(
            {service.name: service for service in services}, env,
            public_url=f"http://127.0.0.1:{ports.public}",
            gateway_urls=[f"http://127.0.0.1:{port}" for port in ports.gateways],
            rasa_urls=[f"http://127.0.0.1:{port}" for port in ports.rasa],
            database_url=database_url, redis_url=redis_url, logs=work, rasa_token=env["SHOP_RASA_AUTH_TOKEN"],
        )
    finally:
        for service in reversed(services):
            service.stop()
