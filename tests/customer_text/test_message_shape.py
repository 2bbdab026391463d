"""Reading a message's shape before NLU: cards, links, chat-page texts, pleasantries around a question."""

from __future__ import annotations

import pytest

from customer_text import read_message
from customer_text.cards import find_cards
from customer_text.pleasantries import core_span, is_pleasantry


@pytest.mark.parametrize(
    "text, order_number",
    [
        ("[订单编号:2026123412341234，订单金额:199.00，下单时间:2026-11-20 14:32:05]", "2026123412341234"),
        ("咨询订单号:2026123412341234 订单金额:19.00 下单时间:2026-11-20", "2026123412341234"),
        ("您选择了一个订单进行咨询(订单号:2026123412341234;商品编号:1234567)", "2026123412341234"),
        ("查询订单号:2026123412341234， 商品号:30", "2026123412341234"),
        ("【订单号：2026052098765432】【金额：59.90元】", "2026052098765432"),
        ("[订单编号:3，订单金额:，下单时间:]", None),
    ],
)
def test_a_pasted_order_card_alone_is_a_card_with_its_order_number(text, order_number):
    shape = read_message(text)
    assert shape.kind == "card"
    assert shape.core == ()
    assert shape.order_number == order_number


def test_a_card_pasted_after_words_leaves_the_words_to_classify():
    text = ("这单怎么还没动静 顾客通过点击网页信息发送:[订单编号:2026123412341234，订单金额:19.00，"
            "下单时间:2026-11-20 10:00:00]")
    shape = read_message(text)
    assert shape.kind == "text"
    assert shape.core_text(text) == "这单怎么还没动静"
    assert shape.order_number == "2026123412341234"


def test_a_link_is_set_aside_and_the_question_kept():
    text = "https://item.yunduo.example.com/123.html 你好 这个能换成退货吗"
    shape = read_message(text)
    assert shape.core_text(text) == "这个能换成退货吗"
    assert [card.kind for card in shape.cards] == ["link"]
    assert shape.cards[0].fields["url"] == "https://item.yunduo.example.com/123.html"


def test_a_product_card_has_its_product_id():
    cards = find_cards("商品编号：100012345678 商品名称：云朵家用吸尘器")
    assert [(c.kind, c.fields.get("product_id")) for c in cards] == [("product", "100012345678")]


def test_an_order_number_in_a_sentence_is_set_aside_as_the_order():
    text = "订单号是2026180079593588，什么时候发货"
    shape = read_message(text)
    assert shape.kind == "text" and shape.core_text(text) == "什么时候发货"
    assert shape.order_number == "2026180079593588"


@pytest.mark.parametrize("text", ["2026180079593588", "订单号：2026180079593588", "单号 2026180079593588 谢谢"])
def test_an_order_number_alone_is_a_card(text):
    shape = read_message(text)
    assert shape.kind == "card" and shape.order_number == "2026180079593588"


def test_other_numbers_are_not_order_numbers():
    assert read_message("我的电话13800138000").cards == ()
    assert read_message("12026180079593588").cards == ()


@pytest.mark.parametrize(
    "text, topic", [("配送咨询", "shipping"), ("订单业务咨询", "order"), ("返修退换货咨询", "returns"),
                    ("商品信息咨询", "product"), ("请选择咨询订单", None), ("发票问题", "invoice"),
                    ("会员权益咨询", "membership"), ("意见与建议反馈", "shop")],
)
def test_a_chat_page_text_alone_is_read_as_the_page(text, topic):
    shape = read_message(text)
    assert shape.kind == "page"
    assert shape.topic == topic


def test_a_menu_label_after_a_question_is_set_aside_too():
    text = "请问积分怎么换优惠券? 意见与建议反馈"
    shape = read_message(text)
    assert shape.kind == "text" and shape.core_text(text) == "请问积分怎么换优惠券?"


def test_a_question_after_a_menu_label_is_classified_without_it():
    text = "你好， 订单业务咨询 那台扫地机哪天能送到"
    shape = read_message(text)
    assert shape.kind == "text" and shape.core_text(text) == "那台扫地机哪天能送到"
    assert shape.topic == "order"


@pytest.mark.parametrize(
    "text, core",
    [
        ("在吗 我的订单怎么还没发货", "我的订单怎么还没发货"),
        ("这个能退吗 在不在", "这个能退吗"),
        ("亲，这款杯子能刻字吗", "这款杯子能刻字吗"),
        ("您好，麻烦问下冰箱送货上门要钱吗", "冰箱送货上门要钱吗"),
        ("好的 那费用会另外加收吗?", "那费用会另外加收吗?"),
        ("好吧 为什么别家第二天就能到", "为什么别家第二天就能到"),
        ("退货运费谁出？谢谢", "退货运费谁出"),
        ("在不 你好我昨天提交了退货 多久能审核完", "我昨天提交了退货 多久能审核完"),
    ],
)
def test_greetings_and_acknowledgements_around_a_question_are_set_aside(text, core):
    assert read_message(text).core_text(text) == core


@pytest.mark.parametrize("text", ["你好", "好的", "谢谢", "在吗", "好的 谢谢"])
def test_a_message_that_is_only_a_pleasantry_keeps_it(text):
    shape = read_message(text)
    assert shape.kind == "text" and shape.core_text(text)


def test_a_one_character_ok_needs_a_separator():
    # 好几天 is "several days", not "ok, ...": nothing is set aside
    text = "好几天了还没到"
    assert core_span(text) == (0, len(text))
    assert core_span("好，几天能到") == (2, 6)


def test_is_pleasantry():
    assert is_pleasantry("好的 谢谢") and is_pleasantry("在吗？")
    assert not is_pleasantry("好的 什么时候发货")
