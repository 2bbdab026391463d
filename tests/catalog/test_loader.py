"""Loading the catalog: the shop's own file, and bad files reported with their file, product and field."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from catalog.errors import CatalogError
from catalog.loader import load_catalog

GOOD_PRODUCT = """
  - id: kettle-mini
    name: 云朵 迷你水壶
    category: 电热水壶
    aliases: [迷你水壶]
    price: "99.00"
    variants:
      - {name: 白色, sku: KT-MINI-WHT, stock: 3}
    specs:
      容量: 0.8 L
    in_box: [水壶, 底座]
    warranty: 一年保修。
"""


def write(tmp_path: Path, text: str, name: str = "products.yml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list:
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    return [str(p) for p in caught.value.problems]


def test_a_good_file_loads_with_the_shared_spec_words(tmp_path):
    path = write(tmp_path, "spec_words:\n  容量: [几升, 装多少]\nproducts:" + GOOD_PRODUCT)
    catalog = load_catalog(path)
    product = catalog.get("kettle-mini")
    assert product.price == Decimal("99.00") and product.was_price is None
    assert product.spec("容量").terms() == ("容量", "几升", "装多少")
    assert product.variants[0].stock == 3 and product.source == path
    assert catalog.with_sku("kt-mini-wht") is product


def test_a_price_that_is_not_a_quoted_decimal_is_named_with_file_product_and_field(tmp_path):
    path = write(tmp_path, "products:" + GOOD_PRODUCT.replace('price: "99.00"', "price: 99.9"))
    [problem] = problems_of(path)
    assert str(path) in problem and "product 'kettle-mini'" in problem and "field 'price'" in problem
    assert '"599.00"' in problem and "99.9" in problem


def test_every_problem_is_listed_not_just_the_first(tmp_path):
    broken = (
        GOOD_PRODUCT.replace("    warranty: 一年保修。\n", "")
        .replace("sku: KT-MINI-WHT", "sku: kt mini")
        .replace("stock: 3", "stock: -1")
        .replace("容量: 0.8 L", "容量: 0.8")
    )
    problems = problems_of(write(tmp_path, "products:" + broken))
    fields = {p.split("field '")[1].split("'")[0] for p in problems}
    assert fields == {"warranty", "variants[1].sku", "variants[1].stock", "specs.容量"}
    assert all("product 'kettle-mini'" in p for p in problems)


def test_ids_and_skus_must_be_unique_across_files(tmp_path):
    write(tmp_path, "products:" + GOOD_PRODUCT, "a.yml")
    second = GOOD_PRODUCT + GOOD_PRODUCT.replace("id: kettle-mini", "id: kettle-mini-2")
    write(tmp_path, "products:" + second, "b.yml")
    problems = problems_of(tmp_path)
    assert any("b.yml, product 'kettle-mini', field 'id': duplicate id, first defined in" in p for p in problems)
    assert any("product 'kettle-mini-2'" in p and "SKU 'KT-MINI-WHT' is also a variant of 'kettle-mini'" in p
               for p in problems)


def test_a_product_sold_out_everywhere_needs_a_restock_note(tmp_path):
    path = write(tmp_path, "products:" + GOOD_PRODUCT.replace("stock: 3", "stock: 0"))
    [problem] = problems_of(path)
    assert "field 'restock'" in problem and "out of stock" in problem
    fixed = GOOD_PRODUCT.replace("stock: 3", "stock: 0") + "    restock: 下周补货。\n"
    assert load_catalog(write(tmp_path, "products:" + fixed)).get("kettle-mini").restock == "下周补货。"


def test_a_bad_id_an_unknown_field_and_the_brand_as_an_alias(tmp_path):
    text = "products:" + GOOD_PRODUCT.replace("aliases: [迷你水壶]", "aliases: [迷你水壶, 云朵]\n    colour: 白")
    text += GOOD_PRODUCT.replace("id: kettle-mini", "id: Kettle Mini")
    problems = problems_of(write(tmp_path, text))
    assert any("product 'kettle-mini'" in p and "unknown field(s) ['colour']" in p for p in problems)
    assert any("field 'aliases'" in p and "brand" in p for p in problems)
    assert any("product 2 needs an 'id'" in p and "'Kettle Mini'" in p for p in problems)


def test_a_file_that_is_not_yaml_or_has_no_products_is_named(tmp_path):
    [not_yaml] = problems_of(write(tmp_path, "products: [\n"))
    assert not_yaml.startswith(f"{tmp_path / 'products.yml'}: is not valid YAML")
    assert "a list 'products'" in problems_of(write(tmp_path, "items: []\n"))[0]
    assert "no catalog file" in problems_of(tmp_path / "missing")[0]
