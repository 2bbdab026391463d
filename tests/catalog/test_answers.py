"""Answers to product questions from the shop's catalog: each attribute, honest unknowns, which product."""

from __future__ import annotations

import pytest

from catalog.answerer import ANSWERED, NOT_KNOWN, WHAT_ABOUT, WHICH_PRODUCT, answer_question
from catalog.lookup import shop_catalog
from catalog.question import ATTRIBUTES


@pytest.fixture(scope="module")
def catalog():
    return shop_catalog()


@pytest.fixture(scope="module")
def ask(catalog):
    def ask(text, *context_ids):
        return answer_question(text, catalog, [catalog.get(i) for i in context_ids])
    return ask


def test_price_with_the_price_before_the_reduction(ask):
    reply = ask("多少钱", "earbuds-pro")
    assert (reply.outcome, reply.attribute) == (ANSWERED, "price")
    assert "¥599" in reply.text and "原价 ¥799" in reply.text and "立省 ¥200" in reply.text
    assert [p.id for p in reply.products] == ["earbuds-pro"]


def test_price_of_the_variant_asked_when_variants_cost_differently(ask):
    reply = ask("X5 512g多少钱")
    assert reply.attribute == "price" and "512GB ¥4499" in reply.text and "256GB" not in reply.text
    assert "远峰蓝 256GB ¥3999" in ask("这个什么价", "phone-x5").text


def test_a_colour_in_the_customers_words_finds_the_variant_and_says_it_is_sold_out(ask):
    reply = ask("有黑色吗", "earbuds-pro")
    assert (reply.outcome, reply.attribute) == (ANSWERED, "variants")
    assert "夜空黑" in reply.text and "缺货" in reply.text and "云朵白、晴空蓝" in reply.text


def test_a_colour_there_is_not_is_said_so_with_the_ones_there_are(ask):
    reply = ask("那有粉色的吗", "earbuds-pro")
    assert reply.attribute == "variants" and "没有粉色" in reply.text
    assert "云朵白（有货）" in reply.text and "晴空蓝（仅剩 4 件）" in reply.text


def test_a_variant_named_by_a_part_of_its_name(ask):
    reply = ask("机械键盘有红轴吗")
    assert reply.attribute == "variants" and "黑色 红轴（有货）" in reply.text and "茶轴" not in reply.text


def test_stock_of_one_variant_and_of_a_product_sold_out_with_its_restock_note(ask):
    reply = ask("白色茶轴还有吗", "keyboard-mx")
    assert reply.attribute == "stock" and "白色 茶轴（暂时缺货）" in reply.text and "黑色 茶轴" in reply.text
    sold_out = ask("胶囊充电宝有货吗")
    assert sold_out.attribute == "stock" and "全部暂时缺货" in sold_out.text and "12 月下旬补货" in sold_out.text
    assert "有货" in ask("还有现货吗", "vacuum-cup-350").text and "仅剩 2 件" in ask("有货吗", "vacuum-cup-350").text


@pytest.mark.parametrize("question, spec, value", [
    ("续航多久", "续航", "总续航 40 小时"),
    ("充满电能用多久", "续航", "总续航 40 小时"),
    ("重不重", "重量", "4.8 克"),
    ("蓝牙版本是多少", "蓝牙", "5.3"),
    ("洗澡能戴吗 防汗吗", "防水", "IPX5"),
])
def test_a_spec_asked_in_customer_words(ask, question, spec, value):
    reply = ask(question, "earbuds-pro")
    assert (reply.outcome, reply.attribute) == (ANSWERED, "spec")
    assert f"的{spec}：" in reply.text and value in reply.text


def test_a_products_own_spec_words(ask):
    reply = ask("这个充电宝能带上飞机吗", "power-bank-20000")
    assert reply.attribute == "spec" and "74Wh" in reply.text


def test_a_spec_the_catalog_does_not_list_is_not_guessed(ask):
    reply = ask("充电宝防水吗", "power-bank-20000")
    assert (reply.outcome, reply.attribute) == (NOT_KNOWN, "spec")
    assert "没有写防水" in reply.text and "不确定" in reply.text and "转人工" in reply.text
    assert "IPX" not in reply.text and "可以防水" not in reply.text


def test_a_question_the_catalog_cannot_place_is_an_honest_unknown(ask):
    reply = ask("这个适合送给长辈吗", "earbuds-pro")
    assert (reply.outcome, reply.attribute) == (NOT_KNOWN, "unknown")
    assert "不确定" in reply.text and "转人工" in reply.text


def test_in_the_box_yes_with_the_list(ask):
    reply = ask("带充电线吗", "earbuds-pro")
    assert (reply.outcome, reply.attribute) == (ANSWERED, "in_box")
    assert reply.text.startswith("带的") and "USB-C 充电线" in reply.text and "完整清单" in reply.text
    assert [p.id for p in reply.products] == ["earbuds-pro"]  # 充电线 is the accessory, not the cable product


def test_not_in_the_box_said_honestly_with_where_to_buy_it(ask):
    reply = ask("有充电头吗", "earbuds-pro")
    assert reply.attribute == "in_box" and "不带充电头" in reply.text
    assert "云朵 33W 氮化镓充电器（¥69）" in reply.text
    assert "带的" in ask("手机带充电器吗", "phone-x5").text


def test_the_whole_box(ask):
    reply = ask("包装里都有什么", "robot-vacuum-s8")
    assert reply.attribute == "in_box" and "边刷 × 2" in reply.text and "充电座" in reply.text


def test_warranty(ask):
    reply = ask("保修多久", "earbuds-pro")
    assert reply.attribute == "warranty" and "一年只换不修" in reply.text


def test_compare_two_named_products_side_by_side(ask):
    reply = ask("云朵无线降噪耳机pro和头戴式降噪耳机有什么区别")
    assert (reply.outcome, reply.attribute) == (ANSWERED, "compare")
    lines = reply.text.splitlines()
    assert "· 价格：¥599 / ¥499" in lines
    assert any(line.startswith("· 续航：单次 8 小时") and "/ 开降噪约 30 小时" in line for line in lines)
    assert not any(line.startswith("· 型号") for line in lines)  # only the specs both list


def test_compare_the_pages_product_with_a_named_one(ask):
    reply = ask("和头戴的比哪个好", "earbuds-pro")
    assert reply.attribute == "compare" and {p.id for p in reply.products} == {"earbuds-pro", "headphones-anc"}


def test_compare_with_one_product_asks_for_the_other_of_its_kind(ask):
    reply = ask("这两款有什么区别", "earbuds-pro")
    assert (reply.outcome, reply.attribute) == (WHICH_PRODUCT, "compare")
    assert [p.id for p in reply.candidates] == ["earbuds-lite", "earbuds-sport", "headphones-anc"]


def test_a_word_several_products_share_asks_which_one(ask):
    reply = ask("耳机续航多久")
    assert (reply.outcome, reply.attribute) == (WHICH_PRODUCT, "spec")
    assert [p.id for p in reply.candidates] == ["earbuds-pro", "earbuds-lite", "earbuds-sport", "headphones-anc"]


def test_a_shared_word_is_settled_by_the_product_in_context(ask):
    reply = ask("这个耳机续航多久", "earbuds-lite")
    assert reply.outcome == ANSWERED and "总续航 24 小时" in reply.text


def test_no_product_at_all_asks_without_candidates(ask):
    reply = ask("这个多大尺寸")
    assert reply.outcome == WHICH_PRODUCT and reply.candidates == () and "哪件商品" in reply.text


def test_a_product_and_no_question_asks_what_about_it(ask):
    reply = ask("云朵 无线降噪耳机 Pro")
    assert reply.outcome == WHAT_ABOUT and reply.product.id == "earbuds-pro"


def test_every_attribute_is_one_of_the_documented_names(ask):
    questions = ["多少钱", "有黑色吗", "有货吗", "重不重", "带充电线吗", "保修多久", "这两款有什么区别", "好看吗"]
    assert {ask(q, "earbuds-pro", "headphones-anc").attribute for q in questions} == set(ATTRIBUTES)


def test_how_to_use_it_is_not_in_the_catalog(ask):
    reply = ask("怎么连蓝牙", "earbuds-pro")
    assert (reply.outcome, reply.attribute) == (NOT_KNOWN, "unknown") and "5.3" not in reply.text


def test_a_product_the_catalog_does_not_have_is_not_answered_with_the_pages(catalog):
    reply = answer_question("iPhone 15盒子里有充电头吗", catalog, [catalog.get("earbuds-pro")], ["iPhone 15"])
    assert reply.outcome == NOT_KNOWN and "「iPhone 15」" in reply.text and reply.products == ()
    watch = answer_question("这个表带适配华为手表吗", catalog, [catalog.get("earbuds-pro")], ["华为手表"])
    assert watch.outcome == NOT_KNOWN and "「华为手表」" in watch.text  # 手表 alone would be ours
    ours = answer_question("这款降噪耳机续航多久", catalog, [catalog.get("earbuds-pro")], ["降噪耳机"])
    assert ours.outcome == ANSWERED and "40 小时" in ours.text


def test_the_pages_product_is_compared_only_with_one_of_its_kind(ask):
    reply = ask("这两个型号的空气净化器有啥不同", "earbuds-pro")
    assert (reply.outcome, reply.attribute) == (WHICH_PRODUCT, "compare")
    assert [p.id for p in reply.products] == ["air-purifier"]


def test_which_is_better_at_something_is_a_comparison(ask):
    reply = ask("头戴式耳机和这个比哪个降噪好", "earbuds-pro")
    assert reply.attribute == "compare" and "· 降噪：最高 38dB 主动降噪 / 最高 42dB" in reply.text


def test_a_verb_inside_a_word_does_not_ask_for_the_box(ask):
    # 带 of 表带 and 配 of 适配 ask nothing; 手表带表带 is the watch's strap
    assert ask("这款手表带表带吗", "earbuds-pro").products[0].id == "smart-watch"
    assert ask("这个表带适配吗", "smart-watch").attribute == "spec"


@pytest.mark.parametrize("question, attribute", [
    ("充电头有吗", "in_box"), ("有没有送耳塞", "in_box"), ("盒子里有数据线吗", "in_box"), ("带线吗", "in_box"),
    ("电池有多大", "spec"), ("充电线多长", "spec"),
])
def test_an_accessory_is_asked_about_only_with_a_word_that_asks_if_it_comes_with_it(ask, question, attribute):
    assert ask(question, "earbuds-pro").attribute == attribute
