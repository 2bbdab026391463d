"""The demo shop's catalog agrees with the demo page and the demo orders."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from catalog.lookup import shop_catalog

ROOT = Path(__file__).resolve().parents[2]
DEMO_PAGE = ROOT / "bot" / "gateway" / "static" / "demo.html"


@pytest.fixture(scope="module")
def catalog():
    return shop_catalog()


def test_the_shop_has_enough_products_each_with_the_brand_and_a_way_to_be_asked_about(catalog):
    assert len(catalog) >= 40
    for product in catalog:
        assert product.name.startswith("云朵 "), product.id
        assert product.aliases and product.variants and product.in_box and product.warranty, product.id
    assert any(not v.in_stock for p in catalog if p.in_stock for v in p.variants)
    sold_out = [p for p in catalog if not p.in_stock]
    assert sold_out and all(p.restock for p in sold_out)


def test_every_demo_order_item_is_a_catalog_product_and_variant(catalog):
    orders = yaml.safe_load((ROOT / "data" / "demo" / "orders.yml").read_text(encoding="utf-8"))["orders"]
    items = [item for order in orders for item in order["items"]]
    assert len(items) >= 10
    for item in items:
        product = catalog.get(item["product_id"])
        assert product is not None, item["product_id"]
        assert product.variant_with_sku(item["sku"]) is not None, item["sku"]


def test_the_earbuds_match_the_demo_product_page(catalog):
    page = DEMO_PAGE.read_text(encoding="utf-8")
    earbuds = catalog.get("earbuds-pro")
    assert f"<h1>{earbuds.name}</h1>" in page
    assert f"<small>¥</small>{earbuds.price:.0f}" in page and f"¥{earbuds.was_price:.0f}" in page
    chips = re.findall(r'<button class="chip"[^>]*>([^<]+)</button>', page)
    assert chips == [v.name for v in earbuds.variants]
    assert 'data-product-id="earbuds-pro"' in page
    for fact, spec in [("42dB", "降噪"), ("5.3", "蓝牙"), ("40 小时", "续航"), ("IPX5", "防水"), ("4.8 克", "重量")]:
        assert fact in page and fact in earbuds.spec(spec).value
    assert "只换不修" in page and "只换不修" in earbuds.warranty
