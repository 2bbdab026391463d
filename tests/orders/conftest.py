"""Both order systems on a fresh database: the embedded demo, and the HTTP client against a real local server
that follows the contract (tools/shop_api_server.py) over the same demo orders."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestServer

from core.db import create_database_engine, upgrade_schema
from orders.circuit_breaker import CircuitBreaker
from orders.demo_system import DemoOrderSystem
from orders.shop_api import ShopApiOrderSystem
from tools.shop_api_server import create_app

TOKEN = "shop-api-test-token"


@pytest.fixture
def demo(tmp_path) -> DemoOrderSystem:
    engine = create_database_engine(f"sqlite:///{tmp_path / 'orders.db'}")
    upgrade_schema(engine)
    yield DemoOrderSystem(engine)
    engine.dispose()


@pytest.fixture
async def shop_server(demo):
    """The shop's API on a loopback port; `shop_server.app[FAULTS]` makes it slow or failing."""
    server = TestServer(create_app(demo, TOKEN))
    await server.start_server()
    yield server
    await server.close()


@pytest.fixture
async def over_http(shop_server):
    client = ShopApiOrderSystem(str(shop_server.make_url("")), TOKEN, timeout_seconds=0.5, retries=1,
                                breaker=CircuitBreaker(failures=3, reset_seconds=60))
    yield client
    await client.close()


@pytest.fixture(params=["demo", "http"])
async def system(request, demo, shop_server):
    """Each contract test runs on both implementations."""
    if request.param == "demo":
        yield demo
        return
    client = ShopApiOrderSystem(str(shop_server.make_url("")), TOKEN, timeout_seconds=2.0)
    yield client
    await client.close()
