"""Each escalation rule alone, then together, with the shop's settings and lexicon."""

from __future__ import annotations

import pytest

from core.settings import SettingsError, load_settings
from handoff.escalation import BOT_SIDE_RULES, GATEWAY_SIDE_RULES, Rules, Turn


@pytest.fixture(scope="module")
def shop_rules() -> Rules:
    return Rules.from_settings(load_settings(environ={})["escalation"])


@pytest.mark.parametrize("intent, escalates", [("request_human", True), ("faq/refund_progress", False), (None, False)])
def test_asking_for_a_person_escalates_at_the_first_ask(shop_rules, intent, escalates):
    decision = shop_rules.asked_for_person(Turn(text="能帮我看看吗", intent=intent))
    assert bool(decision) is escalates
    if decision:
        # the detail names the rule, never the customer's raw text (it is stored unmasked in the queue)
        assert decision.reason == "request_human" and decision.priority == 10 and "能帮我看看吗" not in decision.detail


@pytest.mark.parametrize(
    "text, escalates",
    [("修改地址的按钮是灰的，改不了，转人工", True), ("有人工吗 我买的空调什么时候来装", True), ("人工", True),
     ("登录不了，人工客服。今天试了十几次了", True), ("我要人工", True), ("安装要人工费吗", False),
     ("你们客服热线是多少", False)],
)
def test_an_explicit_ask_for_a_person_inside_a_question_counts(shop_rules, text, escalates):
    decision = shop_rules.asked_for_person(Turn(text=text, intent="faq/order_modify_address"))
    assert bool(decision) is escalates
    if decision:
        assert decision.reason == "request_human" and "要求人工" in decision.detail


def test_max_failures_in_a_row_escalate_fewer_do_not(shop_rules):
    limit = shop_rules.max_failures
    assert shop_rules.repeated_failure(Turn(failures_before=limit - 2, failed=True)) is None
    last = shop_rules.repeated_failure(Turn(failures_before=limit - 1, failed=True))
    assert last.reason == "repeated_failure" and str(limit) in last.detail
    assert shop_rules.repeated_failure(Turn(failures_before=5, failed=False)) is None


@pytest.mark.parametrize(
    "text, intent, escalates, mentions",
    [
        ("你们就是骗子", None, True, ["骗子"]),
        ("太差了！！！", None, True, ["太差了", "感叹号"]),
        ("我要投诉你们的快递员", None, True, ["投诉"]),
        ("我很失望", None, False, []),
        ("到底什么时候发货！！！", None, True, ["到底", "感叹号 ×3"]),
        ("到底什么时候发货", None, False, []),
        ("退款多久到账？", None, False, []),
        ("东西不错，谢谢", "complaint", True, ["投诉意图"]),
    ],
)
def test_complaints_and_anger_say_which_signal_matched(shop_rules, text, intent, escalates, mentions):
    decision = shop_rules.complaint(Turn(text=text, intent=intent))
    assert bool(decision) is escalates
    for word in mentions:
        assert word in decision.detail
    if decision:
        assert decision.reason == "complaint" and decision.priority == 20


@pytest.mark.parametrize(
    "intent, escalates",
    [("faq/account_frozen", True), ("faq/account_stolen", True), ("legal_threat", True), ("refund_dispute", True),
     ("faq/account_login_failed", False)],
)
def test_sensitive_topics_by_intent(shop_rules, intent, escalates):
    decision = shop_rules.sensitive_topic(Turn(intent=intent))
    assert bool(decision) is escalates
    if decision:
        assert decision.reason == "sensitive_topic" and intent in decision.detail


def test_vip_customers_go_to_a_person_on_their_first_message_only(shop_rules):
    assert shop_rules.vip_tier(Turn(tier="diamond", first_message=True)).reason == "vip_tier"
    assert shop_rules.vip_tier(Turn(tier="DIAMOND", first_message=True)).priority == 30
    assert shop_rules.vip_tier(Turn(tier="diamond", first_message=False)) is None
    assert shop_rules.vip_tier(Turn(tier="gold", first_message=True)) is None
    assert shop_rules.vip_tier(Turn(tier=None, first_message=True)) is None


def test_together_the_first_matching_rule_wins_in_order(shop_rules):
    angry_request = Turn(text="转人工！！！骗子", intent="request_human", failures_before=3, failed=True)
    assert shop_rules.first_match(angry_request, BOT_SIDE_RULES).reason == "request_human"
    angry_frozen = Turn(text="账号被冻结了，骗子！！！", intent="faq/account_frozen")
    assert shop_rules.first_match(angry_frozen, BOT_SIDE_RULES).reason == "sensitive_topic"
    vip_angry = Turn(text="垃圾", tier="diamond", first_message=True)
    assert shop_rules.first_match(vip_angry, GATEWAY_SIDE_RULES).reason == "vip_tier"
    asks_angrily = Turn(text="转人工！！！骗子")
    assert shop_rules.first_match(asks_angrily, GATEWAY_SIDE_RULES).reason == "request_human"
    calm = Turn(text="几天发货", intent="faq/shipping_dispatch_time", tier="gold", first_message=True)
    assert shop_rules.first_match(calm, BOT_SIDE_RULES + GATEWAY_SIDE_RULES) is None


def test_bad_settings_name_the_setting(tmp_path):
    with pytest.raises(SettingsError, match="max_failures"):
        Rules.from_settings({"max_failures": 0})
    with pytest.raises(SettingsError, match="anger_lexicon"):
        Rules.from_settings({"anger_lexicon": str(tmp_path / "missing.yml")})
    with pytest.raises(SettingsError, match="priority_complaint"):
        Rules.from_settings({"priority_complaint": "high"})
