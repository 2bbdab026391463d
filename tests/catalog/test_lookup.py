"""Finding products in customers' words, and by id, SKU, page title or link."""

from __future__ import annotations

import pytest

from catalog.lookup import (
    mentions_in,
    product_by_id,
    product_by_title,
    product_in_url,
    product_named,
    products_named_in,
    shop_catalog,
)
from catalog.text import fold


@pytest.fixture(scope="module")
def catalog():
    return shop_catalog()


def ids(products):
    return [p.id for p in products]


def test_text_is_folded_like_the_nlu_folds_it():
    assert fold("云朵 無線降噪耳機 ＰＲＯ") == fold("云朵无线降噪耳机pro") == "云朵无线降噪耳机pro"
    assert fold("X5 512G") == "x5 512g"  # a space between two Latin words stays


@pytest.mark.parametrize("text", [
    "云朵 無線降噪耳機 Pro 续航多久", "云朵无线降噪耳机PRO", "我想问下ｐｒｏ耳机", "降噪耳机 pro 有货吗",
])
def test_a_product_is_found_by_its_name_or_an_alias_in_any_writing(text, catalog):
    assert ids(products_named_in(text, catalog)) == ["earbuds-pro"]


def test_the_default_catalog_is_the_shops():
    assert ids(products_named_in("我买的保温杯")) == ["vacuum-cup-500", "vacuum-cup-350"]


def test_a_word_several_products_share_gives_all_of_them(catalog):
    assert ids(products_named_in("我买的耳机", catalog)) == [
        "earbuds-pro", "earbuds-lite", "earbuds-sport", "headphones-anc",
    ]
    [mention] = mentions_in("我买的耳机", catalog)
    assert mention.ambiguous and mention.term == "耳机"


def test_the_longest_name_wins_where_two_overlap(catalog):
    assert ids(products_named_in("耳机收纳包多少钱", catalog)) == ["headphone-case"]
    assert ids(products_named_in("头戴式降噪耳机和充电宝", catalog)) == [
        "headphones-anc", "power-bank-20000", "power-bank-10000", "power-bank-capsule",
    ]


def test_latin_names_match_only_as_whole_words(catalog):
    assert ids(products_named_in("S8 吸力多大", catalog)) == ["robot-vacuum-s8"]
    assert products_named_in("型号是s80的那个", catalog) == []
    assert products_named_in("productive", catalog) == []


def test_by_id_sku_name_title_and_link(catalog):
    earbuds = catalog.get("earbuds-pro")
    assert product_by_id("earbuds-pro", catalog) is earbuds
    assert product_by_id("EP-PRO-BLK", catalog) is earbuds and product_by_id("ep-pro-blk", catalog) is earbuds
    assert product_by_id("no-such-thing", catalog) is None and product_by_id("", catalog) is None
    assert product_named("云朵 无线降噪耳机 Pro", catalog) is earbuds and product_named("耳机", catalog) is None
    assert product_by_title("云朵 无线降噪耳机 Pro - 云朵优品", catalog) is earbuds
    assert product_by_title("耳机 - 云朵优品", catalog) is None
    assert product_in_url("https://shop.example.com/p/earbuds-pro?from=search", catalog) is earbuds
    assert product_in_url("https://shop.example.com/item.html?sku=PB-20K-WHT", catalog).id == "power-bank-20000"
    assert product_in_url("https://shop.example.com/p/123456", catalog) is None
