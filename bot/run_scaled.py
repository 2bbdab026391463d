"""`make run-scaled`: the product as several processes on PostgreSQL and Redis, with nginx in front.

What starts, from settings.yml's `scaled` section (each number can be changed there or with SHOP_SCALED_*):
- `action_servers` action servers, behind nginx's loopback port for actions;
- `rasa_processes` Rasa processes (`rasa run`), sharing conversations through the SQL tracker store on
  PostgreSQL and taking turns on a conversation through Rasa's Redis lock store; the gateways send each
  conversation to one of them (bot/gateway/rasa_client.py);
- `gateways` chat gateways, sharing conversations and tickets in PostgreSQL and live frames, notices and
  rate limits in Redis;
- nginx on `scaled.port`, the one URL customers, agents and supervisors open (WebSockets included).
A process that dies is started again; what it left unfinished is handled by the others meanwhile.
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

from bot.nginx_config import nginx_binary, write_nginx_conf
from bot.rasa_auth import rasa_auth_token, with_token
from bot.rasa_endpoints import write_endpoints
from bot.run import Service, supervise
from core.settings import PROJECT_ROOT, SettingsError, load_settings, project_path


@dataclass(frozen=True)
class ScaledPorts:
    """Where each process listens: nginx's public port, then the processes behind it."""

    public: int
    gateways: List[int]
    rasa: List[int]
    action_servers: List[int]
    actions_upstream: int

    @classmethod
    def from_settings(cls, scaled: Mapping[str, Any]) -> ScaledPorts:
        first = int(scaled["internal_ports_from"])
        counts = {name: int(scaled[name]) for name in ("gateways", "rasa_processes", "action_servers")}
        for name, count in counts.items():
            if not 1 <= count <= 9:
                raise SettingsError(f"scaled.{name} is {count}; it must be between 1 and 9")
        return cls(
            public=int(scaled["port"]),
            gateways=[first + i for i in range(counts["gateways"])],
            rasa=[first + 10 + i for i in range(counts["rasa_processes"])],
            action_servers=[first + 20 + i for i in range(counts["action_servers"])],
            actions_upstream=first + 30,
        )


def check_services(database_url: str, redis_url: str) -> Optional[str]:
    """None when PostgreSQL and Redis answer; otherwise what to do about it."""
    import redis
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(database_url)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as error:  # noqa: BLE001 - any failure is reported the same way
        return f"PostgreSQL at scaled.database_url ({database_url}) does not answer: {error}"
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=2).ping()
    except Exception as error:  # noqa: BLE001
        return f"Redis at scaled.redis_url ({redis_url}) does not answer: {error}"
    return None


def build_scaled_services(work: Path, config: Mapping[str, Dict[str, Any]], ports: ScaledPorts,
                          model: Optional[Path] = None) -> List[Service]:
    """Every process of the scaled setup, in start order (what each needs first comes first)."""
    scaled, rasa = config["scaled"], config["rasa"]
    database_url, redis_url = str(scaled["database_url"]), str(scaled["redis_url"])
    endpoints = write_endpoints(
        f"http://127.0.0.1:{ports.actions_upstream}/webhook",
        {**rasa, "tracker_store_url": database_url, "lock_store_url": redis_url}, work,
    )
    host = str(scaled.get("host") or "127.0.0.1")
    conf = write_nginx_conf(work, host, ports.public, ports.gateways, ports.actions_upstream, ports.action_servers)
    token = rasa_auth_token(rasa)
    services = [
        # SANIC_HOST: rasa-sdk listens on 0.0.0.0 without it; nginx reaches the action servers on loopback
        Service(f"action server {n}",
                [sys.executable, "-m", "bot.action_server", "--actions", "actions", "--port", str(port)],
                f"http://127.0.0.1:{port}/health", env={"SHOP_DATABASE_URL": database_url, "SANIC_HOST": "127.0.0.1"})
        for n, port in enumerate(ports.action_servers, start=1)
    ]
    services += [
        Service(f"Rasa {n}", [
            sys.executable, "-m", "bot.rasa_server", "run", "--enable-api",
            "--model", str(model or project_path(rasa["model"])), "--endpoints", str(endpoints),
            "--credentials", str(PROJECT_ROOT / "credentials.yml"), "--interface", "127.0.0.1", "--port", str(port),
            "--auth-token", token,
        ], with_token(f"http://127.0.0.1:{port}/status", token))
        for n, port in enumerate(ports.rasa, start=1)
    ]
    rasa_urls = ",".join(f"http://127.0.0.1:{port}" for port in ports.rasa)
    services += [
        Service(f"gateway {n}", [sys.executable, "-m", "bot.gateway"], f"http://127.0.0.1:{port}/health", env={
            "SHOP_GATEWAY_HOST": "127.0.0.1", "SHOP_GATEWAY_PORT": str(port), "SHOP_DATABASE_URL": database_url,
            "SHOP_GATEWAY_REDIS_URL": redis_url, "SHOP_GATEWAY_RASA_URLS": rasa_urls,
            "SHOP_GATEWAY_REPLICA": f"gateway-{n}",
            # erasure and retention reach Rasa's conversations, kept in the same database when scaled
            "SHOP_RASA_TRACKER_STORE_URL": database_url,
        })
        for n, port in enumerate(ports.gateways, start=1)
    ]
    services.append(Service("nginx", [nginx_binary(), "-p", str(work), "-c", str(conf), "-g", "daemon off;"],
                            f"http://{host}:{ports.public}/health"))
    return services


def migrate(database_url: str) -> None:
    """Brings the shared database to the newest migration before any gateway starts."""
    from core.db import create_database_engine, upgrade_schema

    engine = create_database_engine(database_url)
    upgrade_schema(engine)
    engine.dispose()


def main() -> int:
    """Runs until Ctrl-C; a process that dies is started again."""
    config = load_settings()
    scaled = config["scaled"]
    model = project_path(config["rasa"]["model"])
    if not model.exists():
        print(f"No trained model at {model}: run `make train` first (make run-scaled does).")
        return 1
    problem = check_services(str(scaled["database_url"]), str(scaled["redis_url"]))
    if problem:
        print(problem)
        return 1
    migrate(str(scaled["database_url"]))
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "RASA_TELEMETRY_ENABLED": "false"}
    ports = ScaledPorts.from_settings(scaled)
    host = scaled.get("host") or "127.0.0.1"
    with tempfile.TemporaryDirectory(prefix="shop-scaled-") as work:
        services = build_scaled_services(Path(work), config, ports)
        return supervise(
            services, env,
            f"Starting {len(services)} processes: {', '.join(s.name for s in services)} (about a minute)...",
            f"\nOpen http://{host}:{ports.public}/ (nginx in front of {len(ports.gateways)} gateways, "
            f"{len(ports.rasa)} Rasa processes, {len(ports.action_servers)} action servers; "
            "PostgreSQL and Redis as in settings.yml `scaled`). Stop: Ctrl-C.\n",
            restart=True,
        )


if __name__ == "__main__":
    sys.exit(main())
