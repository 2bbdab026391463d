"""The scaled setup for real: two gateways behind Debian's nginx, two Rasa processes on the PostgreSQL tracker
store and Redis lock store, two action servers, this machine's PostgreSQL (a schema of its own) and Redis."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import redis

from evaluation.live_stack import ScaledStack, running_scaled_stack
from tests.conftest import postgres_schema

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="session")
def scaled(full_model: Path, tmp_path_factory) -> ScaledStack:
    """The scaled setup, once per test run (the fault tests restart what they kill)."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError:
        pytest.fail(f"Redis at {REDIS_URL} does not answer (TEST_REDIS_URL); the scaled tests need it")
    quick = {
        # a fault test waits for recovery: the bot is asked again soon, and a person takes over late
        "SHOP_GATEWAY_BOT_RETRY_SECONDS": "2",
        "SHOP_GATEWAY_BOT_GIVE_UP_SECONDS": "120",
        "SHOP_GATEWAY_RATE_LIMIT_BURST": "1000",
    }
    with postgres_schema() as url, running_scaled_stack(
        full_model, tmp_path_factory.mktemp("scaled"), url, REDIS_URL, quick
    ) as stack:
        yield stack
