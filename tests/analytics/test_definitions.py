"""The README's definitions on constructed event logs whose answers are known."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from analytics.events import Event
from analytics.metrics import CostSettings, outcomes, summary

T0 = datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai
SETTINGS = CostSettings()


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def said(conversation: str, minutes: float, intent: str = "faq/refund_arrival_time", customer: str = None) -> Event:
    return Event(conversation, "customer_message", at(minutes), customer_id=customer, intent=intent, confidence=0.9)


def answered(conversation: str, minutes: float, key: str = "refund_arrival_time") -> Event:
    return Event(conversation, "bot_answer", at(minutes), kb_key=key)


def escalated(conversation: str, minutes: float, reason: str = "request_human") -> Event:
    return Event(conversation, "escalation", at(minutes), reason=reason, ticket_id=1)


def by_id(events):
    return {o.conversation_id: o for o in outcomes(events, SETTINGS, now=at(600))}


def test_an_answered_question_is_deflected_contained_and_not_escalated():
    result = by_id([said("a", 0), answered("a", 0.1)])["a"]
    assert (result.counted, result.deflected, result.contained, result.escalated) == (True, True, True, False)


def test_a_greeting_only_conversation_is_not_counted():
    log = [said("g", 0, intent="greet"), Event("g", "bot_answer", at(0.1)), said("g", 1, intent="thank")]
    result = by_id(log)["g"]
    assert not result.counted and not result.deflected
    assert summary(log, date(2026, 11, 24), date(2026, 11, 24), "day", SETTINGS)["totals"]["conversations"] == 0


def test_ending_on_a_fallback_or_unanswered_suggestions_is_contained_but_not_deflected():
    log = [said("f", 0), Event("f", "fallback", at(0.1)),
           said("s", 0, intent="nlu_fallback"), Event("s", "clarification", at(0.1), detail={"suggested": ["x"]})]
    results = by_id(log)
    for name in "fs":
        assert results[name].contained and not results[name].deflected
    # a failure followed by a good answer ends well
    recovered = by_id([said("r", 0), Event("r", "fallback", at(0.1)), said("r", 1), answered("r", 1.1)])["r"]
    assert recovered.deflected


def test_coming_back_within_the_window_and_being_escalated_undoes_the_deflection():
    first = [said("v1", 0, customer="C1"), answered("v1", 0.1)]
    back_escalated = [said("v2", 300, customer="C1"), escalated("v2", 301)]
    results = by_id(first + back_escalated)
    assert results["v1"].contained and not results["v1"].deflected and results["v1"].recontact_escalated
    assert results["v2"].escalated
    # back after the window: the first visit stays deflected
    late = [said("v3", 60 * 25, customer="C1"), escalated("v3", 60 * 25 + 1)]
    assert by_id(first + late)["v1"].deflected
    # back within the window but answered by the bot: still deflected
    calm = [said("v4", 300, customer="C1"), answered("v4", 300.1)]
    assert by_id(first + calm)["v1"].deflected
    # another customer's escalation does not count
    other = [said("v5", 300, customer="C2"), escalated("v5", 301)]
    assert by_id(first + other)["v1"].deflected


def test_an_escalation_after_a_deflected_looking_start_is_escalated_not_deflected():
    log = [said("e", 0), answered("e", 0.1), said("e", 2, intent="request_human"), escalated("e", 2.1)]
    result = by_id(log)["e"]
    assert result.escalated and not result.contained and not result.deflected


def test_abandonment_is_a_cancel_or_silence_while_waiting_for_a_person():
    cancelled = [said("c", 0), escalated("c", 0.1), Event("c", "abandoned", at(1), ticket_id=1)]
    silent = [said("q", 0), escalated("q", 0.1)]
    served = [said("p", 0), escalated("p", 0.1), Event("p", "resolution", at(5), ticket_id=2)]
    waiting_now = [said("w", 590), escalated("w", 590.1)]
    results = by_id(cancelled + silent + served + waiting_now)
    assert results["c"].abandoned and results["q"].abandoned
    assert not results["p"].abandoned and not results["w"].abandoned


def test_the_rates_add_up_and_savings_follow_the_formula():
    log = (
        [said("a", 0), answered("a", 0.1)]
        + [said("b", 10), answered("b", 10.1)]
        + [said("c", 20), Event("c", "fallback", at(20.1))]
        + [said("d", 30), escalated("d", 30.1, "complaint")]
        + [said("g", 40, intent="greet")]
    )
    result = summary(log, date(2026, 11, 24), date(2026, 11, 24), "day", SETTINGS)
    totals = result["totals"]
    assert (totals["conversations"], totals["deflected"], totals["contained"], totals["escalated"]) == (4, 2, 3, 1)
    assert totals["containment_rate"] + totals["escalation_rate"] == pytest.approx(1.0)
    assert totals["deflection_rate"] <= totals["containment_rate"]
    assert totals["greeting_only"] == 1 and totals["fallback_endings"] == 1
    cost = result["cost"]
    # 120 yuan an hour x 8 minutes = 16 yuan a human conversation; 0.5 a bot one (../shared/context.md)
    assert cost["human_cost_per_conversation"] == 16.0
    assert cost["savings_yuan"] == pytest.approx(2 * (16.0 - 0.5))
    assert cost["system_cost_yuan"] == pytest.approx(20000 / 30, abs=0.01)
    assert cost["roi"] == pytest.approx((31.0 - 20000 / 30) / (20000 / 30), abs=1e-4)
    assert "configured default" in cost["handling_minutes_source"]
    assert result["escalation_reasons"] == [{"reason": "complaint", "count": 1}]
    assert result["series"][0]["period"] == "2026-11-24"


def test_handling_time_is_measured_once_there_are_enough_tickets():
    log = []
    for n in range(20):
        name = f"t{n}"
        log += [said(name, n), escalated(name, n + 0.1),
                Event(name, "resolution", at(n + 5), ticket_id=n, agent="小李",
                      detail={"wait_seconds": 30, "handling_seconds": 240}),
                Event(name, "rating", at(n + 6), ticket_id=n, agent="小李", score=4 + n % 2)]
    result = summary(log, date(2026, 11, 24), date(2026, 11, 24), "day", SETTINGS)
    assert result["cost"]["inputs"]["handling_minutes"] == 4.0
    assert result["cost"]["human_cost_per_conversation"] == 8.0
    assert result["queue"]["handling_p50_s"] == 240 and result["queue"]["wait_p90_s"] == 30
    assert result["satisfaction"]["agents"]["by_agent"] == [{"name": "小李", "average": 4.5, "count": 20}]


def test_conversations_fall_in_the_local_day_they_started():
    late_evening = Event("n", "customer_message", datetime(2026, 11, 24, 15, 30, tzinfo=timezone.utc), intent="faq/x")
    result = summary([late_evening], date(2026, 11, 24), date(2026, 11, 25), "day", SETTINGS)
    assert [s["period"] for s in result["series"]] == ["2026-11-24"]  # 23:30 in Shanghai
    weekly = summary([late_evening], date(2026, 11, 23), date(2026, 11, 29), "week", SETTINGS)
    assert weekly["series"][0]["period"] == "2026-W48"


def test_unanswered_questions_are_grouped_by_similarity_with_the_agents_reply_as_draft_answer():
    from analytics.unanswered import failed_questions, group

    log = []
    for n, text in enumerate(["快递显示签收了但我没收到", "快递签收了可是我没收到货", "显示已签收但是没拿到快递"]):
        name = f"u{n}"
        log += [Event(name, "customer_message", at(n), intent="nlu_fallback", text=text),
                Event(name, "escalation", at(n + 0.1), reason="repeated_failure"),
                Event(name, "agent_message", at(n + 1), text="请联系快递员核实签收人，我们为您补发。")]
    log += [Event("x", "customer_message", at(10), intent="faq/x", text="能开发票吗"),
            Event("x", "fallback", at(10.1)),
            Event("y", "customer_message", at(11), intent="deny", text="都不是"),
            Event("y", "fallback", at(11.1)),
            Event("z", "customer_message", at(12), intent="request_human", text="转人工"),
            Event("z", "escalation", at(12.1), reason="request_human")]
    groups = group(failed_questions(log))
    assert [g["size"] for g in groups] == [3, 1]
    first = groups[0]
    assert first["ending"] == "escalation" and first["agent_reply"].startswith("请联系快递员")
    assert "answer: 请联系快递员核实签收人" in first["draft"] and "question:" in first["draft"]
    assert groups[1]["examples"] == ["能开发票吗"] and "（请填写答案）" in groups[1]["draft"]
