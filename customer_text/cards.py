"""Order and product cards that shop pages paste into the chat, and links, found in a message.

A card is a run of `label: value` pairs with labels a shop's order or product card uses (订单编号,
订单金额, 下单时间, 商品ID, 售后服务单 ...), possibly wrapped in brackets or parentheses; an order
number on its own counts as one too. A link is a URL. They are metadata for the bot (the order
number, the product), not words to classify.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

# label -> what its value is; longest labels first so 咨询订单号 wins over 订单号
_LABELS: Dict[str, str] = {
    "咨询订单号": "order_number", "查询订单号": "order_number", "订单编号": "order_number",
    "订单号码": "order_number", "订单号": "order_number", "交易单号": "order_number",
    "售后服务单号": "service_number", "售后服务单": "service_number", "服务单号": "service_number",
    "商品ID": "product_id", "商品id": "product_id", "商品编号": "product_id", "商品号": "product_id",
    "商品编码": "product_id", "SKU": "product_id", "sku": "product_id", "商家ID": "merchant_id",
    "订单金额": "amount", "实付金额": "amount", "商品金额": "amount", "付款金额": "amount", "支付金额": "amount",
    "金额": "amount", "实付": "amount", "下单时间": "ordered_at", "付款时间": "ordered_at", "数量": "quantity",
    "订单状态": "status", "商品名称": "product_name",
}
_LABEL_PATTERN = "|".join(re.escape(label) for label in sorted(_LABELS, key=len, reverse=True))
# a value runs to the next separator; empty values occur in real cards ("订单金额:，")
_DATE_TIME = r"(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?)"
_PAIR = re.compile(rf"({_LABEL_PATTERN})\s*[:：]\s*[;；]?\s*({_DATE_TIME}|[^\s,，;；\]\)）】]*)")
# what may stand between the pairs of one card, and around it
_GLUE = re.compile(r"^[\s,，;；:：\[\]【】()（）￥¥]*$")
# a date and time printed before the pairs, and a lead-in such as 顾客通过点击...信息发送:
_LEAD_IN = re.compile(rf"(?:[^\s\[\]（(]{{0,24}}(?:发送|咨询)[:：]?\s*[(（]?\s*|{_DATE_TIME}\s*)$")
# the shop's order numbers (16 digits starting with the year, docs/shop-facts.md), with a label or alone
_ORDER_NUMBER = re.compile(r"(?:(?:订单编号|订单号码|订单号|单号|订单)\s*[:：是]?\s*)?(?<!\d)(20[2-3]\d{13})(?!\d)")
_URL = re.compile(r"(?:https?://|file:///|www\.)[^\s\u4e00-\u9fff，。！？]+", re.IGNORECASE)
_ORDER_DIGITS = re.compile(r"\d{6,}")


@dataclass(frozen=True)
class Card:
    """One pasted card or link: where it is in the message and what it says."""

    start: int
    end: int
    kind: str  # "order", "product", "service" or "link"
    fields: Dict[str, str] = field(default_factory=dict)

    @property
    def order_number(self) -> Optional[str]:
        value = self.fields.get("order_number") or ""
        match = _ORDER_DIGITS.search(value)
        return match.group(0) if match else None

    def to_dict(self) -> Dict[str, object]:
        return {"kind": self.kind, "start": self.start, "end": self.end, **self.fields}


def _card_kind(fields: Dict[str, str]) -> str:
    if "order_number" in fields:
        return "order"
    if "service_number" in fields:
        return "service"
    return "product"


def _group(pairs: List[re.Match], text: str) -> List[Tuple[int, int, List[re.Match]]]:
    """Pairs separated only by punctuation belong to one card."""
    groups: List[Tuple[int, int, List[re.Match]]] = []
    for pair in pairs:
        if groups and _GLUE.match(text[groups[-1][1]: pair.start()]):
            start, _, members = groups[-1]
            groups[-1] = (start, pair.end(), members + [pair])
        else:
            groups.append((pair.start(), pair.end(), [pair]))
    return groups


def _widen(text: str, start: int, end: int) -> Tuple[int, int]:
    """Takes in the card's brackets, a date printed before it and a lead-in ending in 发送: or 咨询(."""
    while start > 0 and text[start - 1] in " [【(（":
        start -= 1
    lead = _LEAD_IN.search(text[max(0, start - 40): start])
    if lead and lead.group(0).strip():
        start -= len(lead.group(0))
    while start > 0 and text[start - 1] in "[【(（":
        start -= 1
    while end < len(text) and text[end] in " ]】)）;；，,":
        end += 1
    return start, end


def find_cards(text: str) -> List[Card]:
    """Every card and link in the text, in order, not overlapping."""
    cards: List[Card] = []
    for start, end, members in _group(list(_PAIR.finditer(text)), text):
        fields = {_LABELS[m.group(1)]: m.group(2).strip() for m in members if m.group(2).strip()}
        if not fields and len(members) < 2:
            continue
        start, end = _widen(text, start, end)
        cards.append(Card(start, end, _card_kind(fields), fields))
    for match in _ORDER_NUMBER.finditer(text):
        if not any(c.start <= match.start(1) < c.end for c in cards):
            cards.append(Card(match.start(), match.end(), "order", {"order_number": match.group(1)}))
    for match in _URL.finditer(text):
        if not any(c.start <= match.start() < c.end for c in cards):
            cards.append(Card(match.start(), match.end(), "link", {"url": match.group(0)}))
    return sorted(cards, key=lambda c: c.start)
