"""Self-service turns in the figures: how they end a conversation, and the dashboard's self_service block."""

from __future__ import annotations

from datetime import date

from analytics.events import Event
from analytics.metrics import SELF_SERVICE_TASKS, CostSettings, summary
from tests.analytics.test_definitions import at, by_id, escalated, said

DAY = date(2026, 11, 24)


def turn(conversation: str, minutes: float, kind: str, task: str, outcome: str = None, **detail) -> Event:
    """A bot turn as bot/gateway/event_recorder.py stores an action's self-service report."""
    detail = {"route": "product" if task == "product" else "order", "self_service": task, **detail}
    if outcome:
        detail["outcome"] = outcome
    return Event(conversation, kind, at(minutes), detail=detail)


def block(log):
    return summary(log, DAY, DAY, "day", CostSettings())["self_service"]


def test_a_conversation_ending_on_a_self_service_answer_is_deflected():
    log = []
    for name, outcome in (("done", "done"), ("refused", "refused"), ("declined", "declined")):
        log += [said(name, 0, intent="order_problem"), turn(name, 0.1, "clarification", "cancel", "asked"),
                said(name, 1, intent="inform"), turn(name, 1.1, "bot_answer", "cancel", outcome)]
    log += [said("p", 0, intent="product_question"), turn("p", 0.1, "bot_answer", "product", attribute="price")]
    results = by_id(log)
    for name in ("done", "refused", "declined", "p"):
        assert results[name].contained and results[name].deflected and not results[name].failure_ending, name


def test_a_conversation_ending_on_a_self_service_fallback_is_a_failure_ending():
    log = []
    for name, task, outcome in (("down", "track", "unavailable"), ("anon", "change_receiver", "not_proven"),
                                ("prod", "product", "unknown")):
        log += [said(name, 0, intent="order_problem"), turn(name, 0.1, "fallback", task, outcome)]
    # left waiting on the bot's question (which order? the last four digits?) is not a resolution either
    log += [said("q", 0, intent="order_problem"), turn("q", 0.1, "clarification", "track", "asked")]
    results = by_id(log)
    for name in ("down", "anon", "prod", "q"):
        assert results[name].contained and results[name].failure_ending and not results[name].deflected, name
    totals = summary(log, DAY, DAY, "day", CostSettings())["totals"]
    assert (totals["deflected"], totals["fallback_endings"]) == (0, 4)


def test_the_self_service_block_counts_conversations_turns_by_outcome_and_resolutions():
    log = (
        # tracked, found: resolved by the bot
        [said("t1", 0, intent="order_problem"), turn("t1", 0.1, "clarification", "track", "asked"),
         said("t1", 1, intent="inform"), turn("t1", 1.1, "bot_answer", "track", "done")]
        # tracked while the order system was down, then asked for a person: escalated
        + [said("t2", 10, intent="order_problem"), turn("t2", 10.1, "fallback", "track", "unavailable"),
           said("t2", 11, intent="request_human"), escalated("t2", 11.1)]
        # tracked, then cancelled the same order: two tasks, one resolved conversation
        + [said("t3", 20, intent="order_problem"), turn("t3", 20.1, "bot_answer", "track", "done"),
           said("t3", 21, intent="order_problem"), turn("t3", 21.1, "clarification", "cancel", "asked"),
           said("t3", 22, intent="affirm"), turn("t3", 22.1, "bot_answer", "cancel", "refused")]
        # a product question answered, then one the bot could not answer: ends on a fallback
        + [said("p1", 30, intent="product_question"), turn("p1", 30.1, "bot_answer", "product", attribute="price"),
           said("p1", 31, intent="product_question"),
           turn("p1", 31.1, "fallback", "product", "unknown", attribute="unknown")]
        # a product question answered: resolved
        + [said("p2", 40, intent="product_question"), turn("p2", 40.1, "bot_answer", "product", attribute="stock")]
        # an order problem handed to a person with its order
        + [said("o1", 50, intent="order_problem"), turn("o1", 50.1, "bot_answer", "problem", "done"),
           escalated("o1", 50.2, "order_issue")]
        # a task this version does not know yet, and an FAQ answer: neither changes the known tasks
        + [said("n1", 60, intent="order_problem"), turn("n1", 60.1, "bot_answer", "split_parcel", "done")]
        + [said("f1", 70), Event("f1", "bot_answer", at(70.1), kb_key="refund_arrival_time")]
    )
    result = block(log)
    tasks = {t["task"]: t for t in result["tasks"]}
    # every known task is listed, in the dashboard's order, with its label; unknown ones after them
    assert [t["task"] for t in result["tasks"]] == list(SELF_SERVICE_TASKS) + ["split_parcel"]
    assert tasks["track"]["label"] == "查物流" and tasks["product"]["label"] == "商品咨询"
    assert tasks["split_parcel"]["label"] == "split_parcel"

    assert tasks["track"] == {
        "task": "track", "label": "查物流", "conversations": 3, "deflected": 2, "turns": 4,
        "outcomes": {"done": 2, "asked": 1, "unavailable": 1}, "attributes": {},
    }
    assert (tasks["cancel"]["conversations"], tasks["cancel"]["deflected"]) == (1, 1)
    assert tasks["cancel"]["outcomes"] == {"asked": 1, "refused": 1}
    # a product answer reports no outcome: answered is done; the fallback says unknown
    assert tasks["product"]["outcomes"] == {"done": 2, "unknown": 1}
    assert tasks["product"]["attributes"] == {"price": 1, "stock": 1, "unknown": 1}
    assert (tasks["product"]["conversations"], tasks["product"]["deflected"]) == (2, 1)
    assert (tasks["problem"]["conversations"], tasks["problem"]["deflected"]) == (1, 0)
    assert tasks["invoice"] == {
        "task": "invoice", "label": "开发票", "conversations": 0, "deflected": 0, "turns": 0,
        "outcomes": {}, "attributes": {},
    }
    # t1, t2, t3, p1, p2, o1, n1 used self-service; t1, t3, p2 and n1 were resolved by the bot
    assert (result["conversations"], result["resolutions"]) == (7, 4)
    assert result["outcome_labels"]["not_proven"] == "无法核实订单"
    # the FAQ conversation is deflected too, but it is no self-service resolution
    totals = summary(log, DAY, DAY, "day", CostSettings())["totals"]
    assert totals["deflected"] == 5 and result["resolutions"] < totals["deflected"]


def test_only_the_period_s_counted_conversations_are_in_the_block():
    log = [said("g", 0, intent="greet"), turn("g", 0.1, "bot_answer", "product", attribute="price")]
    next_day = [Event("late", "customer_message", at(60 * 24), intent="order_problem"),
                turn("late", 60 * 24 + 0.1, "bot_answer", "track", "done")]
    result = block(log + next_day)
    assert (result["conversations"], result["resolutions"]) == (0, 0)
    assert all(t["turns"] == 0 for t in result["tasks"])


def test_the_order_forms_questions_are_not_unanswered_questions():
    from analytics.unanswered import failed_questions

    log = [Event("asked", "customer_message", at(0), text="帮我改下地址", intent="order_problem", detail={}),
           turn("asked", 0.1, "clarification", "change_receiver", "asked"),
           Event("gap", "customer_message", at(0), text="你们支持数字人民币吗", intent="nlu_fallback", detail={}),
           Event("gap", "fallback", at(0.1), detail={})]
    assert [q["text"] for q in failed_questions(log)] == ["你们支持数字人民币吗"]
