"""The HTTP client when the shop's API is slow, failing, down or misconfigured: a clear error in bounded time,
and after repeated failures no call at all until the circuit's pause is over."""

from __future__ import annotations

import time

import pytest

from orders.circuit_breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker
from orders.errors import ShopUnavailable
from orders.shop_api import ShopApiOrderSystem
from tests.orders.conftest import TOKEN
from tools.shop_api_server import FAULTS


async def test_a_slow_api_fails_within_the_timeouts_and_then_the_circuit_opens(shop_server, over_http):
    shop_server.app[FAULTS]["delay_seconds"] = 5
    for _ in range(3):
        started = time.monotonic()
        with pytest.raises(ShopUnavailable) as failed:
            await over_http.orders_of("C10086")
        # two attempts of 0.5 s and one pause, not the API's 5 s
        assert time.monotonic() - started < 1.6
        assert "稍后再试" in failed.value.text
    assert over_http.breaker.state == OPEN
    started = time.monotonic()
    with pytest.raises(ShopUnavailable):
        await over_http.orders_of("C10086")
    assert time.monotonic() - started < 0.05, "an open circuit does not call the API"


async def test_a_failing_api_is_retried_and_a_recovered_one_answers(shop_server, over_http):
    shop_server.app[FAULTS]["fail_status"] = 503
    with pytest.raises(ShopUnavailable):
        await over_http.orders_of("C10086")
    shop_server.app[FAULTS]["fail_status"] = 0
    assert await over_http.orders_of("C10086")
    assert over_http.breaker.state == CLOSED


async def test_an_api_that_is_down_is_unavailable_at_once():
    client = ShopApiOrderSystem("http://127.0.0.1:9", TOKEN, timeout_seconds=0.5, retries=1)
    started = time.monotonic()
    with pytest.raises(ShopUnavailable):
        await client.order("2026120112345678")
    assert time.monotonic() - started < 1.0
    await client.close()


async def test_a_wrong_token_is_logged_with_the_setting_to_fix(shop_server, caplog):
    client = ShopApiOrderSystem(str(shop_server.make_url("")), "wrong-token", timeout_seconds=1)
    with pytest.raises(ShopUnavailable):
        await client.orders_of("C10086")
    assert any("SHOP_ORDERS_API_TOKEN" in r.getMessage() for r in caplog.records)
    await client.close()


def test_a_bad_api_url_names_the_setting():
    with pytest.raises(ValueError, match="SHOP_ORDERS_API_URL"):
        ShopApiOrderSystem("shop.example.com/api")


def test_the_circuit_lets_one_trial_through_after_its_pause():
    now = [0.0]
    breaker = CircuitBreaker(failures=2, reset_seconds=10, clock=lambda: now[0])
    breaker.failed()
    assert breaker.allow() and breaker.state == CLOSED
    breaker.failed()
    assert breaker.state == OPEN and not breaker.allow()
    now[0] = 10.5
    assert breaker.allow() and breaker.state == HALF_OPEN
    assert not breaker.allow(), "one trial at a time"
    breaker.failed()
    assert breaker.state == OPEN and not breaker.allow()
    now[0] = 21
    assert breaker.allow()
    breaker.succeeded()
    assert breaker.state == CLOSED and breaker.allow()
