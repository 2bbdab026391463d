"""Does the customer ask for a person? Read on jieba words, with negations and questions handled.

Asks: 转人工, 人工!, 找真人, 叫你们经理来, 换个人跟我说, 有人工吗, 我不要机器人, 你听不懂.
Not asks: 不用转人工 (negated), 人工客服几点上班 / 客服电话多少 (a question about the service),
是人工吗 (asking whether the bot is a person), 人工费多少 (another word).
"""

from __future__ import annotations

from typing import Optional, Sequence

from handoff.customer_words import negated, tokens

# a person, asked for by the word alone
STRONG = ("转人工", "人工", "人工客服", "人工服务", "真人", "真人客服", "转真人", "活人", "人工坐席", "人工台",
          "转人功", "人功", "人宫", "真人工")
# a person only after a verb of asking (找经理, 叫主管, 换个人, 转接客服)
WEAK = ("客服", "经理", "主管", "负责人", "领导", "店长", "专员", "工作人员", "个人", "人", "售后人员", "小二")
VERBS = ("转", "转接", "接", "找", "找个", "叫", "叫个", "要", "我要", "换", "换个", "请", "让", "需要", "给我",
         "来个", "来", "有没有", "接通", "帮我转", "转给", "转到")
# people in charge: "经理呢", "主管在吗" summon them without a verb
IN_CHARGE = ("经理", "主管", "负责人", "领导", "店长")
SUMMONS = ("呢", "在吗", "在哪", "出来", "过来", "在不在")
# a verb already done is not an ask (我已经找过客服了)
DONE = ("过", "了", "已经")
# the bot is not understanding: the customer wants someone else
GIVING_UP = ("听不懂", "答非所问", "没用的机器人", "机器人没用", "说了半天", "你不懂")
BOT = ("机器人", "智能客服", "自动回复")
# words after the person that make it a question about the service, not an ask
ABOUT = ("几点", "上班", "下班", "时间", "电话", "号码", "热线", "多少", "工作", "在线时间", "什么时候", "几时", "态度",
         "说", "讲", "告诉", "回复")


def _question_about_person(words: Sequence[str], index: int) -> bool:
    after = words[index + 1: index + 4]
    return any(any(a in w for a in ABOUT) for w in after) and not any(w in VERBS for w in words[:index])


def _asks_whether_bot_is_person(words: Sequence[str], index: int) -> bool:
    """是人工吗 / 你是真人吗: a question to the bot, not an ask."""
    before = "".join(words[max(0, index - 2): index])
    after = "".join(words[index + 1: index + 3])
    return before.endswith("是") and after.startswith(("吗", "么", "嘛", "?", "？"))


def asks_for_person(text: str) -> Optional[str]:
    """The words that ask for a person, or None."""
    words = tokens(text)
    for index, word in enumerate(words):
        if word in GIVING_UP and not negated(words, index):
            return word
        if word in BOT and index and words[index - 1] in ("不要", "别", "不想", "不用") and index >= 1:
            return words[index - 1] + word
        strong, weak = word in STRONG, word in WEAK
        if not (strong or weak):
            continue
        if negated(words, index - 1 if index and words[index - 1] in VERBS else index, reach=2):
            continue
        if _asks_whether_bot_is_person(words, index) or _question_about_person(words, index):
            continue
        if strong:
            return word
        if word in IN_CHARGE and any("".join(words[index + 1: index + 3]).startswith(s) for s in SUMMONS):
            return word
        reach = 5 if word in ("人", "个人") else 3
        before = words[max(0, index - reach): index]
        if any(w in DONE for w in before):
            continue
        verb = next((w for w in reversed(before) if w in VERBS), None)
        if verb and (word not in ("人", "个人") or verb in ("换", "换个", "找", "找个", "来个", "叫个", "有没有")):
            return "".join(words[words.index(verb, max(0, index - reach)): index + 1])
    return None
