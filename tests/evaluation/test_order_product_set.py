"""The labelled order and product messages (evaluation/order_product_set.yml) are well formed: enough of
them, every expectation known, every context real, no message twice."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from bench.self_service import (
    CATALOG_PATH,
    PRODUCT_ATTRIBUTES,
    SELF_SERVICE_TASKS,
    SET_PATH,
    catalog_entries,
    demo_customers,
    load_set,
)

ROOT = Path(__file__).resolve().parents[2]
ENTRY_KEYS = {"text", "customer", "page_product", "expect"}
EXPECT_KEYS = {"order": {"route", "self_service"}, "product": {"route", "attribute"}, "faq": {"route", "kb_key"}}


@pytest.fixture(scope="module")
def entries():
    return yaml.safe_load(SET_PATH.read_text(encoding="utf-8"))["messages"]


def product_ids() -> set:
    """The catalog's products once data/catalog/products.yml exists; until then the demo orders' products."""
    if CATALOG_PATH.exists():
        document = yaml.safe_load(CATALOG_PATH.read_text(encoding="utf-8"))
        return {str(item.get("id") or item.get("product_id")) for item in catalog_entries(document)}
    orders = yaml.safe_load((ROOT / "data" / "demo" / "orders.yml").read_text(encoding="utf-8"))["orders"]
    return {item["product_id"] for order in orders for item in order["items"]}


def kb_keys() -> set:
    keys = set()
    for path in (ROOT / "data" / "kb").glob("*.yml"):
        keys |= {entry["key"] for entry in yaml.safe_load(path.read_text(encoding="utf-8"))["entries"]}
    return keys


def test_the_set_loads_with_enough_messages_of_every_kind(entries):
    messages = load_set()
    assert len(messages) == len(entries) >= 150
    tasks = Counter(m.expect.get("self_service") for m in messages if m.expect["route"] == "order")
    attributes = Counter(m.expect.get("attribute") for m in messages if m.expect["route"] == "product")
    assert all(tasks[task] >= 8 for task in SELF_SERVICE_TASKS), tasks
    assert all(attributes[attribute] >= 4 for attribute in PRODUCT_ATTRIBUTES), attributes
    routes = Counter(m.expect["route"] for m in messages)
    assert routes["order"] >= 90 and routes["product"] >= 45 and routes["faq"] >= 8, routes
    # order tasks both for verified customers and for anonymous visitors
    assert {bool(m.customer) for m in messages if m.expect["route"] == "order"} == {True, False}


def test_every_entry_has_known_fields_and_a_known_expectation(entries):
    known_kb = kb_keys()
    for entry in entries:
        assert set(entry) <= ENTRY_KEYS and isinstance(entry["text"], str) and entry["text"].strip(), entry
        expect = entry["expect"]
        route = expect.get("route")
        assert route in EXPECT_KEYS, entry
        assert set(expect) <= EXPECT_KEYS[route], entry
        if route == "order":
            assert expect.get("self_service") in SELF_SERVICE_TASKS, entry
        elif route == "product":
            assert expect.get("attribute") in PRODUCT_ATTRIBUTES, entry
        elif "kb_key" in expect:
            assert isinstance(expect["kb_key"], list) and set(expect["kb_key"]) <= known_kb, entry


def test_every_context_is_a_real_demo_customer_and_product(entries):
    customers, products = demo_customers(), product_ids()
    # a customer of these tiers goes to a person on the first message, before the bot sees it
    straight_to_a_person = yaml.safe_load((ROOT / "settings.yml").read_text(encoding="utf-8"))["escalation"]["tiers"]
    for entry in entries:
        assert entry.get("customer") is None or entry["customer"] in customers, entry
        assert entry.get("customer") is None or customers[entry["customer"]] not in straight_to_a_person, entry
        assert entry.get("page_product") is None or entry["page_product"] in products, entry


def test_no_message_is_there_twice(entries):
    texts = Counter("".join(entry["text"].split()) for entry in entries)
    assert [text for text, count in texts.items() if count > 1] == []
