"""Asking for a person and anger, read on jieba words: negations, questions and words inside other words."""

from __future__ import annotations

import pytest

from core.settings import load_settings
from handoff.escalation import Rules, Turn
from handoff.person_request import asks_for_person


@pytest.fixture(scope="module")
def shop_rules() -> Rules:
    return Rules.from_settings(load_settings(environ={})["escalation"])


@pytest.mark.parametrize(
    "text",
    ["转人工", "人工!", "我要人工", "真人", "有人工吗", "帮我转一下人工", "需要人工帮忙", "给我转接客服",
     "找你们经理来", "叫主管", "负责人呢", "叫你们领导出来", "换个人跟我说", "能不能换个客服", "有没有活人",
     "找个能解决问题的人", "我不要机器人", "你听不懂吗", "转人功", "过了保修期如何维修 我要转人工",
     "改不了，转人工", "登录不了，人工客服。今天试了十几次了"],
)
def test_the_many_ways_of_asking_for_a_person(text):
    assert asks_for_person(text)


@pytest.mark.parametrize(
    "text",
    ["不用转人工", "不要转人工了", "不需要人工", "人工客服几点上班", "客服电话是多少", "是人工吗", "你是真人吗",
     "人工费多少", "安装要人工费吗", "客服你好", "你们客服态度太差", "我已经联系过客服了", "我找过客服了没用",
     "找人代付怎么弄", "个人发票怎么开", "有人吗"],
)
def test_negations_questions_about_the_service_and_other_words_are_not_asks(text):
    assert asks_for_person(text) is None


def test_the_rule_names_the_words_that_asked(shop_rules):
    decision = shop_rules.asked_for_person(Turn(text="叫你们主管来"))
    assert decision.reason == "request_human" and "主管" in decision.detail


@pytest.mark.parametrize(
    "text, score",
    [("你们就是骗子", 2), ("垃圾客服", 2), ("气死我了", 2), ("太差了！！！", 3), ("服务太差了", 2),
     ("垃圾袋怎么退", 0), ("不是骗子吧", 0), ("这是不是假货", 0), ("一点都不差", 0), ("非常满意", 0)],
)
def test_anger_counts_whole_words_neither_negated_nor_asked_about(shop_rules, text, score):
    assert shop_rules.anger(text).score == score


def test_a_compliment_or_a_doubt_is_not_a_complaint(shop_rules):
    for text in ("你们服务一点都不差", "不是骗子吧", "垃圾袋能退吗"):
        assert shop_rules.complaint(Turn(text=text)) is None
