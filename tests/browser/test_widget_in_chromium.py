"""The widget on the demo shop page in real headless Chromium, against the real gateway, Rasa and action server.

One customer's visit, step by step, with a screenshot of each step in
test-output/browser/ (look at them: Chinese must render as text, not boxes).
"""

from __future__ import annotations

import pytest

from knowledge import load_knowledge_base
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

BOT = ".shopchat-msg[data-sender=bot]"
CUSTOMER = ".shopchat-msg[data-sender=customer]"
REPLY_TIMEOUT_MS = 30_000
# the demo page for an anonymous visitor: each new browser starts its own conversation (a signed-in demo
# customer continues their latest one on any browser, the last test shows)
VISITOR = "/?customer="
# the order the demo page names (bot/gateway/static/demo.html: data-order-number)
DEMO_PAGE_ORDER = "2026120112345678"


@pytest.fixture(scope="module")
def kb():
    return load_knowledge_base(ROOT / "data" / "kb")


def bot_texts(page):
    """The text of each bot message (without its buttons), oldest first."""
    return page.locator(f"{BOT}:not(.shopchat-welcome) .shopchat-bubble").all_inner_texts()


def send(page, text: str) -> None:
    """Types like a customer and presses Enter."""
    page.locator(".shopchat-input").fill(text)
    page.locator(".shopchat-input").press("Enter")


def open_widget(page, url: str) -> None:
    """Opens the page and its chat widget, and waits until the widget has its conversation."""
    page.goto(url)
    page.locator("#shopchat-launcher").click()
    page.wait_for_function("window.ShopChat && window.ShopChat.sessionId()")


def wait_for_bot_count(page, count: int) -> None:
    page.wait_for_function(
        "n => document.querySelectorAll('.shopchat-msg[data-sender=bot]:not(.shopchat-welcome)').length >= n",
        arg=count,
        timeout=REPLY_TIMEOUT_MS,
    )


def test_a_customer_visit_from_first_question_to_an_outage_and_back(browser, stack, kb, screenshots):
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        # 1. the demo shop page with the widget closed, then opened
        page.goto(stack.gateway_url + VISITOR)
        page.locator("#shopchat-launcher").click()
        page.locator(".shopchat-panel").wait_for(state="visible")
        page.wait_for_function("window.ShopChat && window.ShopChat.sessionId()")
        assert "小云" in page.locator(".shopchat-welcome").inner_text()
        page.screenshot(path=screenshots / "01-demo-page-widget-open.png")

        # 2. a FAQ question typed in Chinese gets the knowledge-base answer
        entry = kb.get("refund_arrival_time")
        send(page, entry.paraphrases[0])
        wait_for_bot_count(page, 1)
        assert bot_texts(page)[0].startswith(entry.answer.splitlines()[0])
        assert page.locator(CUSTOMER).last.inner_text() == entry.paraphrases[0]
        page.screenshot(path=screenshots / "02-faq-answer.png")

        # 3. an unclear message gets suggestions; clicking one answers that entry
        before = len(bot_texts(page))
        send(page, "那个东西怎么弄")
        wait_for_bot_count(page, before + 1)
        button = page.locator(BOT).last.locator(".shopchat-button").first
        title = button.inner_text()
        page.screenshot(path=screenshots / "03-suggestions.png")
        before = len(bot_texts(page))
        button.click()
        wait_for_bot_count(page, before + 1)
        chosen = next(e for e in kb if e.question == title)
        assert bot_texts(page)[-1].startswith(chosen.answer.splitlines()[0])
        assert page.locator(CUSTOMER).last.inner_text() == title
        page.screenshot(path=screenshots / "04-suggestion-clicked.png")

        # 4. markup from a customer is shown as text and never runs
        attack = '<img src=x onerror="window.__hacked=1">看看这个'
        before = len(bot_texts(page))
        send(page, attack)
        wait_for_bot_count(page, before + 1)
        assert page.locator(CUSTOMER).last.inner_text() == attack
        assert page.locator(".shopchat-messages img[src=x]").count() == 0
        assert page.evaluate("window.__hacked") is None
        page.screenshot(path=screenshots / "05-markup-shown-as-text.png")

        # 5. a reload shows the whole conversation again, each message once
        shown = page.locator(".shopchat-msg:not(.shopchat-welcome)").all_inner_texts()
        page.reload()
        page.locator("#shopchat-launcher").click()
        page.wait_for_function(
            "n => document.querySelectorAll('.shopchat-msg:not(.shopchat-welcome)').length >= n", arg=len(shown)
        )
        page.wait_for_timeout(500)
        assert page.locator(".shopchat-msg:not(.shopchat-welcome)").all_inner_texts() == shown
        page.screenshot(path=screenshots / "06-history-after-reload.png")

        # 6. Rasa stops: the customer is told within seconds
        stack.stop("Rasa server")
        try:
            send(page, "我的快递到哪了")
            notice = page.locator(".shopchat-notice")
            notice.wait_for(state="visible", timeout=10_000)
            assert "暂时无法回复" in notice.inner_text()
            page.screenshot(path=screenshots / "07-bot-unavailable-notice.png")
        finally:
            stack.start("Rasa server")

        # 7. Rasa is back: the conversation goes on and the notice goes away (the answer may name the page's
        # order, which the question about the parcel above brought up)
        entry = kb.get("refund_arrival_time")
        before = len(bot_texts(page))
        send(page, entry.paraphrases[1])
        wait_for_bot_count(page, before + 1)
        with_order = entry.answer_for({"order_number": DEMO_PAGE_ORDER})
        assert any(bot_texts(page)[-1].startswith(a.splitlines()[0]) for a in (entry.answer, with_order))
        page.locator(".shopchat-notice").wait_for(state="hidden", timeout=5_000)
        page.screenshot(path=screenshots / "08-back-after-outage.png")
        assert errors == []
    finally:
        context.close()


def test_enter_while_an_input_method_is_composing_does_not_send(browser, stack, screenshots):
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    page = context.new_page()
    try:
        open_widget(page, stack.gateway_url + VISITOR)
        box = page.locator(".shopchat-input")
        box.focus()
        cdp = context.new_cdp_session(page)
        # pinyin being composed, as a Chinese input method does, then Enter to pick the candidate
        cdp.send("Input.imeSetComposition", {"text": "tuihuo", "selectionStart": 6, "selectionEnd": 6})
        page.keyboard.press("Enter")
        page.wait_for_timeout(500)
        assert page.locator(CUSTOMER).count() == 0
        cdp.send("Input.insertText", {"text": "退货"})
        # the simulated Enter reaches the textarea as a line break, which a real input method swallows
        assert box.input_value().strip() == "退货"
        page.screenshot(path=screenshots / "09-ime-composition-not-sent.png")
        page.keyboard.press("Enter")
        page.locator(CUSTOMER).first.wait_for(timeout=5_000)
        assert page.locator(CUSTOMER).first.inner_text() == "退货"
    finally:
        context.close()


def test_the_widget_on_a_phone_fills_the_screen_and_works_with_the_keyboard(browser, stack, screenshots):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    page = context.new_page()
    try:
        page.goto(stack.gateway_url + VISITOR)
        page.screenshot(path=screenshots / "10-phone-shop-page.png")
        page.locator("#shopchat-launcher").focus()
        page.keyboard.press("Enter")
        panel = page.locator(".shopchat-panel")
        panel.wait_for(state="visible")
        page.wait_for_function("document.activeElement.classList.contains('shopchat-input')")
        box = panel.bounding_box()
        assert box["width"] >= 389 and box["height"] >= 700
        page.keyboard.type("优惠券怎么用")
        page.keyboard.press("Enter")
        wait_for_bot_count(page, 1)
        page.screenshot(path=screenshots / "11-phone-conversation.png")
        page.keyboard.press("Escape")
        panel.wait_for(state="hidden")
        assert page.evaluate("document.activeElement.id") == "shopchat-launcher"
    finally:
        context.close()


def test_the_http_fallback_carries_a_conversation_when_websockets_are_unavailable(browser, stack, kb, screenshots):
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    context.add_init_script("window.ShopChatConfig = { transport: 'http', open: true }")
    page = context.new_page()
    try:
        page.goto(stack.gateway_url + VISITOR)
        page.wait_for_function("window.ShopChat && window.ShopChat.sessionId()")
        assert page.evaluate("window.ShopChat.transport()") == "http"
        entry = kb.get("refund_arrival_time")
        send(page, entry.paraphrases[2])
        wait_for_bot_count(page, 1)
        assert bot_texts(page)[0].startswith(entry.answer.splitlines()[0])
        page.screenshot(path=screenshots / "12-http-fallback.png")
    finally:
        context.close()


def test_a_dropped_connection_reconnects_and_a_message_typed_meanwhile_arrives_once(browser, stack, kb, screenshots):
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(stack.gateway_url + VISITOR)
        page.locator("#shopchat-launcher").click()
        entry = kb.get("refund_arrival_time")
        send(page, entry.paraphrases[3])
        wait_for_bot_count(page, 1)
        stack.stop("chat gateway")
        try:
            banner = page.locator(".shopchat-notice[data-kind=connection]")
            banner.wait_for(state="visible", timeout=10_000)
            offline_question = kb.get("shipping_dispatch_time").paraphrases[0]
            send(page, offline_question)
            page.locator(f"{CUSTOMER}[data-pending=true]").wait_for(timeout=5_000)
            page.screenshot(path=screenshots / "13-connection-lost-message-pending.png")
        finally:
            stack.start("chat gateway")
        wait_for_bot_count(page, 2)
        banner.wait_for(state="hidden", timeout=20_000)
        assert page.locator(f"{CUSTOMER}[data-pending=true]").count() == 0
        customer_texts = page.locator(CUSTOMER).all_inner_texts()
        assert customer_texts == [entry.paraphrases[3], offline_question]
        page.screenshot(path=screenshots / "14-reconnected-and-answered.png")
        # the gateway restarted from its database: a reload shows the same conversation
        page.reload()
        page.locator("#shopchat-launcher").click()
        page.wait_for_function(
            "document.querySelectorAll('.shopchat-msg[data-sender=customer]').length >= 2"
        )
        assert page.locator(CUSTOMER).all_inner_texts() == customer_texts
    finally:
        context.close()


def add_agent_account(stack, username: str, name: str) -> None:
    """An agent account made with the product's own command, as an administrator would."""
    import subprocess
    import sys

    account = subprocess.run(
        [sys.executable, "-m", "handoff.accounts", "add", username, "--name", name, "--password-stdin"],
        input="agent-pass-123\n", cwd=ROOT, env=stack.env, capture_output=True, text=True, timeout=60,
    )
    assert account.returncode == 0, account.stderr


def agent_and_customer(browser, errors):
    """Two browsers, the agent's and the customer's; page errors of both are collected in `errors`."""
    agent_context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    customer_context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    agent, customer = agent_context.new_page(), customer_context.new_page()
    agent.on("pageerror", lambda error: errors.append(str(error)))
    customer.on("pageerror", lambda error: errors.append(str(error)))
    return agent_context, customer_context, agent, customer


def test_a_customer_reaches_a_person_in_one_browser_and_an_agent_answers_in_another(browser, stack, screenshots):
    add_agent_account(stack, "browser-li", "小李")
    errors = []
    agent_context, customer_context, agent, customer = agent_and_customer(browser, errors)
    try:
        # the agent logs in first, so a person is online
        agent.goto(stack.gateway_url + "/console")
        agent.fill("#console-login input[name=username]", "browser-li")
        agent.fill("#console-login input[name=password]", "wrong-password")
        agent.click("#console-login button[type=submit]")
        agent.locator("#console-login .console-error").wait_for(state="visible")
        assert "用户名或密码错误" in agent.locator("#console-login .console-error").inner_text()
        agent.fill("#console-login input[name=password]", "agent-pass-123")
        agent.click("#console-login button[type=submit]")
        agent.locator("#console-main").wait_for(state="visible")
        agent.wait_for_function("document.querySelector('#console-online')?.dataset.online === 'true'")
        agent.screenshot(path=screenshots / "20-agent-console-empty.png")

        # the customer asks a question, then presses 转人工 and sees the queue position
        customer.goto(stack.gateway_url + VISITOR)
        customer.locator("#shopchat-launcher").click()
        send(customer, "退款多久能到账")
        wait_for_bot_count(customer, 1)
        customer.locator(".shopchat-human").click()
        customer.locator(".shopchat-queue").wait_for(state="visible", timeout=REPLY_TIMEOUT_MS)
        assert "下一位" in customer.locator(".shopchat-status").inner_text()
        assert customer.evaluate("window.ShopChat.handoffState()") == "waiting"
        customer.screenshot(path=screenshots / "21-customer-waiting-in-queue.png")

        # the agent sees the ticket arrive without reloading, takes it and reads the transcript
        agent.locator(".console-queue-item").first.wait_for(timeout=10_000)
        agent.screenshot(path=screenshots / "22-agent-sees-the-queue.png")
        agent.click("#console-take-next")
        agent.locator("#console-transcript .console-msg[data-sender=customer]").first.wait_for()
        transcript = agent.locator("#console-transcript").inner_text()
        assert "退款多久能到账" in transcript and "转人工" in transcript
        assert "faq/refund_arrival_time" in agent.locator(".console-reading").first.inner_text()
        agent.screenshot(path=screenshots / "23-agent-ticket-with-transcript.png")

        # the customer sees who took over; the agent's reply arrives live
        customer.wait_for_function("window.ShopChat.handoffState() === 'assigned'", timeout=10_000)
        agent.fill("#console-reply", "您好，我是小李，帮您查一下退款")
        agent.click("#console-send")
        reply = customer.locator(".shopchat-msg[data-sender=agent]").last
        reply.wait_for(timeout=10_000)
        assert "帮您查一下退款" in reply.inner_text() and "小李" in reply.inner_text()
        send(customer, "好的，麻烦了")
        agent.locator("#console-transcript .console-msg[data-sender=customer]", has_text="好的，麻烦了").wait_for()
        customer.screenshot(path=screenshots / "24-customer-talks-to-the-agent.png")

        # the agent resolves; the customer rates
        agent.click("#console-resolve")
        agent.fill("#console-resolve-form textarea", "已查询，退款处理中")
        agent.click("#console-resolve-confirm")
        customer.locator(".shopchat-rating").wait_for(timeout=10_000)
        customer.screenshot(path=screenshots / "25-customer-rating-form.png")
        customer.click(".shopchat-star[data-score='5']")
        customer.fill(".shopchat-rating-comment", "很耐心")
        customer.click(".shopchat-rating-submit")
        customer.locator(".shopchat-msg[data-sender=bot]", has_text="感谢您的评价").wait_for(timeout=10_000)
        customer.screenshot(path=screenshots / "26-customer-rated.png")
        agent.screenshot(path=screenshots / "27-agent-after-resolving.png")
        assert errors == []
    finally:
        agent_context.close()
        customer_context.close()


def test_a_supervisor_sees_the_simulated_day_on_the_dashboard_and_an_agent_is_refused(browser, stack, screenshots):
    import subprocess
    import sys

    for username, role in (("dash-boss", "supervisor"), ("dash-agent", "agent")):
        made = subprocess.run(
            [sys.executable, "-m", "handoff.accounts", "add", username, "--role", role, "--password-stdin"],
            input="dash-pass-123\n", cwd=ROOT, env=stack.env, capture_output=True, text=True, timeout=60,
        )
        assert made.returncode == 0, made.stderr
    simulated = subprocess.run(
        [sys.executable, "-m", "tools.simulate_day", "--limit", "40", "--days", "3", "--gateway", stack.gateway_url],
        cwd=ROOT, env=stack.env, capture_output=True, text=True, timeout=600,
    )
    assert simulated.returncode == 0, simulated.stdout[-2000:] + simulated.stderr[-2000:]
    assert "Replayed 40 of 40 conversations" in simulated.stdout
    assert "simulating" in simulated.stderr  # the progress bar
    # a self-service conversation as the gateway logs the order actions' reports (the simulated day may or may
    # not have any, depending on what the bot's order actions can do), so the self-service chart has a bar
    from analytics.events import Event, EventLog
    from core.db import create_database_engine

    engine = create_database_engine(stack.database_url)
    EventLog(engine).write_many([
        Event("browser-self-service", "customer_message", intent="order_problem", confidence=0.95,
              text="我的快递到哪了", detail={"to": "bot"}),
        Event("browser-self-service", "clarification",
              detail={"suggested": [], "route": "order", "self_service": "track", "outcome": "asked"}),
        Event("browser-self-service", "bot_answer",
              detail={"route": "order", "self_service": "track", "outcome": "done"}),
    ])
    engine.dispose()

    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(stack.gateway_url + "/dashboard")
        page.fill("#dashboard-login input[name=username]", "dash-agent")
        page.fill("#dashboard-login input[name=password]", "dash-pass-123")
        page.click("#dashboard-login button[type=submit]")
        page.locator("#dashboard-forbidden").wait_for(state="visible", timeout=10_000)
        assert "仅限主管" in page.locator("#dashboard-forbidden").inner_text()
        page.screenshot(path=screenshots / "30-dashboard-agent-refused.png")
        context.clear_cookies()

        page.goto(stack.gateway_url + "/dashboard")
        page.fill("#dashboard-login input[name=username]", "dash-boss")
        page.fill("#dashboard-login input[name=password]", "dash-pass-123")
        page.click("#dashboard-login button[type=submit]")
        page.wait_for_function("document.body.dataset.ready === 'true'", timeout=30_000)
        assert page.locator("#chart-rates svg polyline, #chart-rates svg path").count() >= 3
        assert page.locator("#chart-reasons svg rect").count() >= 1
        deflection = page.locator(".dashboard-kpi[data-kpi=deflection]").inner_text()
        assert "%" in deflection
        assert "时薪" in page.locator(".dashboard-kpi[data-kpi=savings]").inner_text()
        # the self-service chart: a bar per task, done and asked stacked, and the resolutions beside deflection
        track = page.locator("#chart-self-service g.dashboard-stack[data-key=track]")
        assert track.locator("rect[data-part=done]").count() == 1
        assert track.locator("rect[data-part=asked]").count() == 1
        assert "查物流" in track.text_content() and "办结" in track.text_content()
        assert page.locator("#chart-self-service g.dashboard-stack").count() >= 9  # every task, used or not
        assert "其中自助服务解决" in deflection
        page.screenshot(path=screenshots / "31-dashboard-supervisor.png", full_page=True)
        groups = page.locator(".dashboard-group")
        if groups.count():
            groups.first.locator("button.dashboard-draft").click()
            page.locator("#dashboard-draft-dialog").wait_for(state="visible")
            assert "key: draft_" in page.locator("#dashboard-draft-dialog textarea").input_value()
            page.screenshot(path=screenshots / "32-dashboard-kb-draft.png")
        assert errors == []
    finally:
        context.close()


def test_on_a_shared_browser_each_signed_in_customer_sees_only_their_own_conversation(browser, stack, kb,
                                                                                      screenshots):
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    entry = kb.get("refund_arrival_time")

    def open_as(customer: str):
        open_widget(page, stack.gateway_url + "/?customer=" + customer)
        page.wait_for_timeout(500)  # any history arrives after the welcome
        return page.evaluate("window.ShopChat.sessionId()")

    try:
        # the demo page signs in 王女士 (C10086); she asks something
        first = open_as("C10086")
        assert "王女士" in page.locator(".topbar").inner_text()
        send(page, entry.paraphrases[0])
        wait_for_bot_count(page, 1)
        page.screenshot(path=screenshots / "20-signed-in-customer.png")

        # she logs out: the next visitor on this browser sees none of it
        anonymous = open_as("")
        assert anonymous != first
        assert page.locator(".shopchat-msg:not(.shopchat-welcome)").count() == 0
        page.screenshot(path=screenshots / "21-after-logout-no-history.png")

        # another customer logs in on the same browser: a conversation of their own
        other = open_as("C30452")
        assert other not in (first, anonymous)
        assert page.locator(".shopchat-msg:not(.shopchat-welcome)").count() == 0

        # 王女士 logs in again: her conversation comes back
        assert open_as("C10086") == first
        page.wait_for_function("n => document.querySelectorAll('.shopchat-msg[data-sender=customer]').length >= n",
                               arg=1, timeout=REPLY_TIMEOUT_MS)
        assert page.locator(CUSTOMER).first.inner_text() == entry.paraphrases[0]
        page.screenshot(path=screenshots / "22-signed-in-again-history-back.png")
        assert errors == []
    finally:
        context.close()


def test_an_agent_sees_the_verified_customer_s_order_beside_the_transcript(browser, stack, screenshots):
    add_agent_account(stack, "browser-zhao", "小赵")
    errors = []
    agent_context, customer_context, agent, customer = agent_and_customer(browser, errors)
    try:
        agent.goto(stack.gateway_url + "/console")
        agent.fill("#console-login input[name=username]", "browser-zhao")
        agent.fill("#console-login input[name=password]", "agent-pass-123")
        agent.click("#console-login button[type=submit]")
        agent.locator("#console-main").wait_for(state="visible")

        # 王女士, signed in on the product page of the earbuds she ordered, asks for a person
        open_widget(customer, stack.gateway_url + "/?customer=C10086")
        customer.locator(".shopchat-human").click()
        customer.locator(".shopchat-queue").wait_for(state="visible", timeout=REPLY_TIMEOUT_MS)

        # other tests may have left customers waiting: the agent takes exactly this one, then opens it
        agent.locator(".console-queue-item", has_text="C10086").wait_for(timeout=10_000)
        ticket_id = agent.evaluate("""async () => {
            const queue = await (await fetch('/console/api/queue')).json();
            const mine = queue.waiting.find((t) => t.customer_id === 'C10086');
            await fetch('/console/api/tickets/' + mine.id + '/take', {method: 'POST'});
            return String(mine.id);
        }""")
        agent.locator(f".console-mine-item[data-ticket-id='{ticket_id}']").click()
        agent.locator("#console-orders").wait_for(state="visible", timeout=10_000)
        focus = agent.locator("#console-orders .console-order-focus")
        assert focus.count() == 1, agent.locator("#console-orders").inner_text()
        card = focus.inner_text()
        assert "2026120112345678" in card and "已发货" in card and "顺丰速运" in card and "138****8000" in card
        assert "已验证客户 C10086" in agent.locator("#console-orders-who").inner_text()
        assert agent.locator("#console-orders .console-order").count() >= 3
        agent.screenshot(path=screenshots / "30-agent-sees-the-customer-s-orders.png")
        agent.click("#console-resolve")
        agent.click("#console-resolve-confirm")
        assert errors == []
    finally:
        agent_context.close()
        customer_context.close()


def test_a_verified_customer_asks_where_the_earbuds_are_and_sees_the_tracking(browser, stack, screenshots):
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        # the demo page signs in 王女士 (C10086), whose earbuds were sent with 顺丰 (data/demo/orders.yml)
        open_widget(page, stack.gateway_url + "/?customer=C10086")
        page.wait_for_timeout(500)  # her earlier conversation's history arrives after the welcome
        before = len(bot_texts(page))
        send(page, "我买的耳机到哪了")
        wait_for_bot_count(page, before + 1)
        answer = bot_texts(page)[-1]
        assert "2026120112345678" in answer and "顺丰速运" in answer and "SF1402837465921" in answer
        assert "张江营业点" in answer, "the latest tracking event"
        page.screenshot(path=screenshots / "30-verified-customer-order-tracking.png")

        # a visitor who is not signed in names the same order: asked to prove it, shown nothing of it
        open_widget(page, stack.gateway_url + VISITOR)
        send(page, "订单2026120112345678到哪了")
        wait_for_bot_count(page, 1)
        asked = bot_texts(page)[-1]
        assert "后 4 位" in asked
        visible = page.locator("#shopchat-panel").inner_text()
        assert "SF1402837465921" not in visible and "顺丰" not in visible
        page.screenshot(path=screenshots / "31-anonymous-asked-to-prove-the-order.png")
        assert errors == []
    finally:
        context.close()


def test_the_widget_keeps_its_resume_token_and_a_known_id_without_it_shows_nothing(browser, stack, kb,
                                                                                   screenshots):
    session_key = "shopchat:" + stack.gateway_url.rstrip("/") + ":session"
    entry = kb.get("refund_arrival_time")
    customer_context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    customer_context.add_init_script("window.ShopChatConfig = { transport: 'http' }")
    customer = customer_context.new_page()
    urls = []
    customer.on("request", lambda request: urls.append(request.url))
    intruder_context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    try:
        open_widget(customer, stack.gateway_url + VISITOR)
        send(customer, entry.paraphrases[1])
        wait_for_bot_count(customer, 1)
        victim = customer.evaluate("window.ShopChat.sessionId()")
        token = customer.evaluate("k => localStorage.getItem(k + ':token')", session_key)
        assert token and len(token) >= 22 and token != victim
        assert urls and not [url for url in urls if token in url], "the token never goes into a URL"
        # a reload goes on with the conversation: the widget sent its token
        customer.reload()
        customer.locator("#shopchat-launcher").click()
        customer.wait_for_function("document.querySelectorAll('.shopchat-msg[data-sender=customer]').length >= 1")
        assert customer.evaluate("window.ShopChat.sessionId()") == victim

        # someone who knows the conversation id (an agent saw it in the queue), or a browser that stored it
        # before tokens existed: the widget starts a new conversation and shows nothing of that one
        intruder_context.add_init_script(
            f"localStorage.setItem({session_key!r}, {victim!r}); localStorage.setItem({session_key + ':owner'!r}, '')"
        )
        intruder = intruder_context.new_page()
        intruder.goto(stack.gateway_url + VISITOR)
        intruder.locator("#shopchat-launcher").click()
        intruder.wait_for_timeout(1000)
        assert intruder.locator(".shopchat-msg:not(.shopchat-welcome)").count() == 0
        send(intruder, "你好")
        intruder.wait_for_function("v => window.ShopChat.sessionId() && window.ShopChat.sessionId() !== v",
                                   arg=victim)
        assert entry.paraphrases[1] not in intruder.locator("#shopchat-panel").inner_text()
        intruder.screenshot(path=screenshots / "40-known-id-without-token-new-conversation.png")
    finally:
        customer_context.close()
        intruder_context.close()
