"""Signs that a message is about the customer's own order (customer_text/own_order.py)."""

from __future__ import annotations

import pytest

from customer_text.own_order import own_order_signs


@pytest.mark.parametrize("text", [
    "我的订单怎么还没动静",          # possessive + order word
    "这单能不能快点",                # pointing word + order
    "我前天拍的今天能到吗",           # I bought it, when
    "服务单一直没人处理",             # a number the shop gave
    "物流三天没更新了",               # what happened to the parcel
    "收到少发了一个",
    "麻烦帮我催一下",
    "我刚下的单 抓紧给发过来吧",
    "几号能送到啊",                   # when one parcel comes
    "不好意思，麻烦你把款退了吧",       # something to be done to it
    "我１２号拍的今天能到吗",           # full-width digits are folded
])
def test_messages_about_one_order(text: str) -> None:
    assert own_order_signs(text)


@pytest.mark.parametrize("text", [
    "七天无理由退货怎么算",           # a policy question
    "你们家的耳机音质怎么样",
    "坏了可以换新吗",                 # a hypothetical, not a parcel
    "https://item.yunduo.example.com/8987090061.html",  # a product link is not the customer's words
    "我的电话是13800138000",           # a phone number is not an order number
    "在吗",
    "麻烦你了，谢谢",                 # thanks, nothing to do
])
def test_messages_not_about_one_order(text: str) -> None:
    assert not own_order_signs(text), own_order_signs(text)
