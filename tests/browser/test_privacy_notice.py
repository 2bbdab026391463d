"""The widget's privacy notice in real headless Chromium: shown when the chat opens, before the first message,
and it stays above the conversation; its link is the gateway's /privacy page. The gateway runs in a thread of
its own in front of the gateway tests' stand-in Rasa (no trained model needed)."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace

import pytest
from aiohttp import web

from bot.gateway.app import create_app
from bot.gateway.config import GatewayConfig
from tests.gateway.conftest import StandInRasa

VISITOR = "/?customer="


@pytest.fixture(scope="module")
def gateway_url(tmp_path_factory):
    """The gateway and a stand-in Rasa on loopback ports, served from a background event loop."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    runners = []
    found = {}

    async def serve() -> None:
        rasa = web.AppRunner(StandInRasa().app())
        await rasa.setup()
        rasa_site = web.TCPSite(rasa, "127.0.0.1", 0)
        await rasa_site.start()
        rasa_port = rasa_site._server.sockets[0].getsockname()[1]
        config = replace(GatewayConfig(), rasa_url=f"http://127.0.0.1:{rasa_port}",
                         database_url=f"sqlite:///{tmp_path_factory.mktemp('privacy') / 'gateway.db'}",
                         identity={"secret": "test-shop-secret"}, privacy={"transcript_days": 90})
        gateway = web.AppRunner(create_app(config))
        await gateway.setup()
        site = web.TCPSite(gateway, "127.0.0.1", 0)
        await site.start()
        found["url"] = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
        runners.extend([gateway, rasa])
        started.set()

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(serve(), loop).result(timeout=60)
    assert started.is_set()
    yield found["url"]
    for runner in runners:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)


def test_the_privacy_notice_is_shown_before_the_first_message(browser, gateway_url, screenshots):
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    page = context.new_page()
    page.goto(gateway_url + VISITOR)
    page.locator("#shopchat-launcher").click()
    notice = page.locator(".shopchat-privacy")
    notice.wait_for(state="visible")
    assert "个人信息会被脱敏保存" in notice.inner_text()
    assert page.locator(".shopchat-msg[data-sender=customer]").count() == 0, "shown before anything is sent"
    page.screenshot(path=str(screenshots / "privacy-1-notice.png"))
    link = notice.locator("a")
    assert link.get_attribute("href") == gateway_url + "/privacy" and link.get_attribute("target") == "_blank"

    page.locator(".shopchat-input").fill("退款多久到账")
    page.locator(".shopchat-input").press("Enter")
    page.wait_for_selector(".shopchat-msg[data-sender=bot]:not(.shopchat-welcome)")
    # the notice stays first, above the welcome and the conversation
    first = page.evaluate("document.querySelector('.shopchat-messages').firstElementChild.className")
    assert "shopchat-privacy" in first
    page.screenshot(path=str(screenshots / "privacy-2-after-first-message.png"))

    with context.expect_page() as opened:
        link.click()
    policy = opened.value
    policy.wait_for_load_state()
    assert "在线客服隐私说明" in policy.content() and "90 天" in policy.content()
    context.close()
