"""Greetings, acknowledgements and thanks before or after a customer's question.

"在吗 我的订单怎么还没发货" asks about dispatch and "这个能退吗 在不在" about returns: the pleasantry
is set aside so that it does not decide what the message means. A message that is nothing but a
pleasantry keeps it: "你好" is a greeting.
"""

from __future__ import annotations

import re
from typing import Tuple

# longest first, so 你好呀 is taken whole
_OPENERS = sorted({
    "你好", "您好", "你好呀", "你好啊", "您好呀", "哈喽", "哈啰", "嗨", "hi", "hello", "nihao", "在吗", "在么",
    "在不在", "在不", "在嘛", "还在吗", "在的吗", "有人吗", "有人在吗", "有人在么", "亲", "亲亲", "亲爱的", "客服",
    "客服你好", "客服您好", "早上好", "上午好", "中午好", "下午好", "晚上好", "早", "打扰了", "打扰一下",
    "不好意思", "麻烦问下", "麻烦问一下", "嗯", "嗯嗯", "恩", "哦", "哦哦", "噢", "好的", "好吧", "好", "对", "对的",
    "是的", "是", "ok", "OK",
}, key=len, reverse=True)
# one-character openers count only when a separator follows (好 in 好几天 is not an ok)
_NEEDS_SEPARATOR = {opener for opener in _OPENERS if len(opener) == 1}
_CLOSERS = sorted({
    "在吗", "在么", "在不在", "在不", "在嘛", "有人吗", "人呢", "谢谢", "谢谢你", "谢谢啦", "多谢", "麻烦了",
    "麻烦你了", "辛苦了", "好的", "急", "急急急", "在线等",
}, key=len, reverse=True)
_SEPARATORS = " \t\n,，.。!！?？~～、;；:：…"
_WORD = re.compile(r"[0-9A-Za-z\u4e00-\u9fff]")


def _has_content(text: str) -> bool:
    return len(_WORD.findall(text)) >= 2


def _strip_opener(text: str, start: int, end: int) -> int:
    """The new start after one opener and its separators, or `start` when there is none."""
    while start < end and text[start] in _SEPARATORS:
        start += 1
    body = text[start:end].lower()
    for opener in _OPENERS:
        if body.startswith(opener):
            cut = start + len(opener)
            if opener in _NEEDS_SEPARATOR and (cut >= end or text[cut] not in _SEPARATORS):
                continue
            while cut < end and text[cut] in _SEPARATORS:
                cut += 1
            return cut
    return start


def _strip_closer(text: str, start: int, end: int) -> int:
    """The new end before one closer and its separators, or `end` when there is none."""
    stop = end
    while stop > start and text[stop - 1] in _SEPARATORS:
        stop -= 1
    body = text[start:stop].lower()
    for closer in _CLOSERS:
        if body.endswith(closer):
            cut = stop - len(closer)
            while cut > start and text[cut - 1] in _SEPARATORS:
                cut -= 1
            return cut
    return end


def is_pleasantry(text: str) -> bool:
    """The whole text is greetings, acknowledgements or thanks."""
    body = text.strip(_SEPARATORS).lower()
    while body:
        for phrase in _OPENERS + _CLOSERS:
            if body.startswith(phrase):
                body = body[len(phrase):].lstrip(_SEPARATORS)
                break
        else:
            return False
    return True


def core_span(text: str, start: int = 0, end: int = -1) -> Tuple[int, int]:
    """The span of `text[start:end]` without leading and trailing pleasantries, when a question remains."""
    end = len(text) if end < 0 else end
    while True:
        new_start = _strip_opener(text, start, end)
        if new_start == start or not _has_content(text[new_start:end]):
            break
        start = new_start
    while True:
        new_end = _strip_closer(text, start, end)
        if new_end == end or not _has_content(text[start:new_end]):
            break
        end = new_end
    return start, end
