"""Entities from the shop's regexes and lookup table, on jieba-tokenized text, with the full model."""

from __future__ import annotations

import pytest

from evaluation.rasa_nlu import parse_all

CASES = [
    ("我的订单2024061812345678到哪了", {"order_number": "2024061812345678"}),
    ("订单号 2025110100001234 想取消", {"order_number": "2025110100001234"}),
    ("验证码发不到13812345678这个手机上", {"phone_number": "13812345678"}),
    ("iPhone 15保修多久", {"product": "iPhone 15"}),
    ("扫地机器人坏了能修吗", {"product": "扫地机器人"}),
    # a 16-digit order number is not a phone number, and a longer digit run is neither
    ("2024061812345678", {"order_number": "2024061812345678"}),
    ("卡号6222021234567890123", {}),
]


@pytest.fixture(scope="module")
def parses(full_model):
    return parse_all(full_model, [text for text, _ in CASES])


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(CASES)))
def test_entities(parses, index):
    text, expected = CASES[index]
    found = {e["entity"]: e["value"] for e in parses[index]["entities"] if e["entity"] != "faq_key"}
    assert {k: v for k, v in found.items()} == expected, text
