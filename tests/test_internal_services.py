"""The services behind the gateway listen on loopback, and Rasa's HTTP API takes a token (settings.yml,
sections `rasa` and `actions`; bot/rasa_auth.py). Checked on the command lines `make run` and
`make run-scaled` build, and on a real action server's socket and a real Rasa's answers."""

from __future__ import annotations

import os
import shutil
import stat
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from bot.rasa_auth import rasa_auth_token, with_token
from bot.run import Service, build_services, wait_until_ready
from core.settings import load_settings
from evaluation.live_stack import free_port, rasa_env

TOKEN = "test-rasa-token"


def services(tmp_path: Path, **env: str) -> Dict[str, Service]:
    settings = load_settings(environ={**os.environ, "SHOP_RASA_AUTH_TOKEN": TOKEN, **env})
    return {service.name: service for service in build_services(tmp_path, settings)}


def test_make_run_starts_the_action_server_on_the_settings_interface(tmp_path):
    actions = services(tmp_path)["action server"]
    # rasa-sdk 3.6 has no interface argument: it listens on SANIC_HOST, and on 0.0.0.0 without it
    assert actions.env["SANIC_HOST"] == "127.0.0.1"
    assert services(tmp_path, SHOP_ACTIONS_HOST="10.0.0.5")["action server"].env["SANIC_HOST"] == "10.0.0.5"


def test_make_run_starts_rasa_on_loopback_with_the_token(tmp_path):
    rasa = services(tmp_path)["Rasa server"]
    command = rasa.command
    assert command[command.index("--interface") + 1] == "127.0.0.1"
    assert command[command.index("--auth-token") + 1] == TOKEN
    # its health check reads /status, which the token guards
    assert rasa.health_url.endswith("/status?token=" + TOKEN)


def test_make_run_scaled_binds_its_action_servers_and_rasas_to_loopback(tmp_path, monkeypatch):
    from bot import run_scaled

    monkeypatch.setattr(run_scaled, "nginx_binary", lambda: shutil.which("true") or "/bin/true")
    settings = load_settings(environ={**os.environ, "SHOP_RASA_AUTH_TOKEN": TOKEN})
    ports = run_scaled.ScaledPorts(public=1, gateways=[2, 3], rasa=[4, 5], action_servers=[6, 7], actions_upstream=8)
    built = run_scaled.build_scaled_services(tmp_path, settings, ports)
    actions = [s for s in built if s.name.startswith("action server")]
    rasas = [s for s in built if s.name.startswith("Rasa")]
    assert len(actions) == 2 and all(s.env["SANIC_HOST"] == "127.0.0.1" for s in actions)
    for rasa in rasas:
        assert rasa.command[rasa.command.index("--interface") + 1] == "127.0.0.1"
        assert rasa.command[rasa.command.index("--auth-token") + 1] == TOKEN


def test_without_a_configured_token_a_random_one_is_kept_private_and_reused(tmp_path):
    section = {"auth_token": "", "auth_token_file": str(tmp_path / "var" / "rasa-auth-token")}
    token = rasa_auth_token(section)
    assert len(token) == 64 and token == rasa_auth_token(section)
    assert stat.S_IMODE((tmp_path / "var" / "rasa-auth-token").stat().st_mode) == 0o600
    assert rasa_auth_token({**section, "auth_token": "configured"}) == "configured"
    assert with_token("http://h/status", "a b") == "http://h/status?token=a+b"
    assert with_token("http://h/x?y=1", "t") == "http://h/x?y=1&token=t"


def listening_addresses(port: int) -> List[Tuple[str, int]]:
    """(address, port) of every TCP socket listening on `port`, from /proc/net/tcp and tcp6."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                if len(address) == 8:
                    octets = bytes.fromhex(address)[::-1]
                    found.append((".".join(str(b) for b in octets), port))
                else:
                    found.append((address, port))
    return found


@pytest.mark.slow
def test_the_action_server_listens_on_loopback_only(tmp_path):
    port = free_port()
    actions = services(tmp_path, SHOP_ACTIONS_PORT=str(port))["action server"]
    actions.start(rasa_env(), tmp_path / "actions.log")
    try:
        problem = wait_until_ready([actions], 120)
        assert problem is None, problem + (tmp_path / "actions.log").read_text()[-2000:]
        assert listening_addresses(port) == [("127.0.0.1", port)]
    finally:
        actions.stop()


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as refused:
        return refused.code


@pytest.mark.slow
def test_rasa_refuses_its_api_without_the_token(tmp_path):
    port = free_port()
    trackers = f"sqlite:///{tmp_path / 'trackers.db'}"
    rasa = services(tmp_path, SHOP_RASA_PORT=str(port), SHOP_RASA_TRACKER_STORE_URL=trackers)["Rasa server"]
    rasa.start(rasa_env(), tmp_path / "rasa.log")
    base = f"http://127.0.0.1:{port}"
    try:
        # "/" answers as soon as the server is up, without a token (and without a trained model)
        deadline = time.monotonic() + 180
        while not (listening_addresses(port) and _status(base + "/") == 200):
            assert rasa.process.poll() is None, (tmp_path / "rasa.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "Rasa did not start"
            time.sleep(0.5)
        for path in ("/status", "/conversations/someone/tracker", "/domain"):
            assert _status(base + path) == 401, path
            assert _status(base + path + "?token=wrong") == 401, path
        # with the token the request passes (200 with a trained model loaded, 409 without one)
        assert _status(with_token(base + "/conversations/someone/tracker", TOKEN)) in (200, 409)
        assert listening_addresses(port) == [("127.0.0.1", port)]
    finally:
        rasa.stop()
