"""Answers a customer's product question from the catalog: which product, what is asked, the answer.

The product is the one the message names; a word several products share (耳机) is settled by the
products known from elsewhere (`context`: a pasted card, the page, an earlier turn, in that order of
preference), or the customer is asked which one they mean. A comparison takes two: both named, or one
named and one from the context.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

from catalog.answers import answer_for, compare_text
from catalog.lookup import Mention, mentions_in, products_called
from catalog.model import Catalog, Product
from catalog.question import BLANK, COMPARE, UNKNOWN, BoxItem, asked_item, blank, read_question
from catalog.text import fold

ANSWERED = "answered"
NOT_KNOWN = "unknown"
WHICH_PRODUCT = "which_product"
WHAT_ABOUT = "what_about"
MAX_CANDIDATES = 4
MAX_PRODUCTS = 3
OFFER_PERSON = "需要的话可以转人工，让商品顾问帮您确认。"


@dataclass(frozen=True)
class Reply:
    """What to tell the customer, and what it was about.

    `outcome`: ANSWERED, NOT_KNOWN (the catalog does not say: offer a person), WHICH_PRODUCT (ask which
    product, offering `candidates`) or WHAT_ABOUT (a product and no question). `products`: the products the
    reply is about, the first being the one to remember for follow-ups.
    """

    outcome: str
    attribute: str
    text: str
    products: Tuple[Product, ...] = ()
    candidates: Tuple[Product, ...] = ()

    @property
    def product(self) -> Optional[Product]:
        return self.products[0] if self.products else None


def _unique(products: Sequence[Product]) -> List[Product]:
    seen, unique = set(), []
    for product in products:
        if product.id not in seen:
            seen.add(product.id)
            unique.append(product)
    return unique


def _settle(
    mentions: Sequence[Mention], context: Sequence[Product], every: bool
) -> Tuple[List[Product], List[Mention]]:
    """Named products, with a shared word settled by the context (its first fitting product, or all of
    them when `every`); the mentions still ambiguous."""
    named: List[Product] = []
    open_mentions: List[Mention] = []
    for mention in mentions:
        if not mention.ambiguous:
            named.append(mention.products[0])
            continue
        ids = {p.id for p in mention.products}
        fitting = [p for p in context if p.id in ids]
        if fitting:
            named.extend(fitting if every else fitting[:1])
        else:
            open_mentions.append(mention)
    return _unique(named), open_mentions


def _item_or_product(
    mentions: List[Mention], item: Optional[BoxItem], context: Sequence[Product]
) -> Tuple[List[Mention], Optional[BoxItem]]:
    """带充电线吗: 充电线 is an accessory of another product, unless no other product is in sight."""
    if not item:
        return mentions, None
    overlapping = [m for m in mentions if item.start <= m.start and m.end <= item.end]
    if not overlapping:
        return mentions, item
    others = [m for m in mentions if m not in overlapping]
    if others or context:
        return others, item
    return mentions, None


def _which(attribute: str, candidates: Sequence[Product], known: Sequence[Product] = ()) -> Reply:
    candidates = tuple(_unique(candidates))[:MAX_CANDIDATES]
    if attribute == COMPARE and known:
        text = f"想拿 {known[0].name} 和哪一款比较呢？"
    elif attribute == COMPARE:
        text = "想比较哪两款商品呢？告诉我商品名称就好。"
    elif candidates:
        text = "您问的是哪一款呢？"
    else:
        text = "请问您问的是哪件商品？告诉我商品名称，或者把商品链接发给我就好。"
    return Reply(WHICH_PRODUCT, attribute, text, tuple(known), candidates)


def _compare(named: List[Product], open_mentions: List[Mention], context: Sequence[Product],
             catalog: Catalog) -> Reply:
    # a product from the context is compared only with one of its kind: on the earbuds' page, "这两款空气净化器有啥
    # 不同" is about two purifiers
    kind = {p.category for p in named}
    products = _unique([*named, *(p for p in context if not kind or p.category in kind)])
    if len(products) >= 2:
        return Reply(ANSWERED, COMPARE, compare_text(products[0], products[1]), tuple(products[:2]))
    if open_mentions:
        ids = {p.id for p in products}
        return _which(COMPARE, [p for p in open_mentions[0].products if p.id not in ids], products)
    if products:
        same = [p for p in catalog if p.category == products[0].category and p.id != products[0].id]
        return _which(COMPARE, same, products)
    return _which(COMPARE, [])


def _not_in_catalog(attribute: str, names: Sequence[str]) -> Reply:
    quoted = "、".join(f"「{name}」" for name in names)
    text = f"商品资料里没有找到{quoted}，我不确定您问的是哪件商品，不想乱说。{OFFER_PERSON}"
    return Reply(NOT_KNOWN, attribute, text)


def answer_question(
    text: str, catalog: Catalog, context: Sequence[Product] = (), other_products: Sequence[str] = ()
) -> Reply:
    """The reply to `text`, a customer's question about a product.

    `context`: products known from outside the message (a button's choice, a pasted card, the page, an
    earlier turn), the most relevant first; the first one is the product asked about when the message
    names none. `other_products`: words of the message the NLU read as a product that name none in the
    catalog (iPhone 15): a question about something else, not about the page's product.
    """
    context = _unique(context)
    folded = fold(text)
    foreign = [name for name in other_products if not products_called(name, catalog)]
    # 手表 in 华为手表 names no product of ours
    found = [m for m in mentions_in(text, catalog) if not any(m.term in fold(name) for name in foreign)]
    item = asked_item(folded, [(m.start, m.end) for m in found])
    mentions, item = _item_or_product(found, item, context)
    blanked = blank(folded, [(m.start, m.end) for m in mentions])
    general = read_question(blanked, catalog, item=item)
    if foreign and not mentions:
        return _not_in_catalog(general.attribute, foreign)
    if general.attribute == COMPARE:
        named, open_mentions = _settle(mentions, context, every=True)
        return _compare(named, open_mentions, context, catalog)
    named, open_mentions = _settle(mentions, context, every=False)
    products = named or ([] if open_mentions else context[:1])
    if not products:
        return _which(general.attribute, open_mentions[0].products if open_mentions else ())
    if general.attribute == UNKNOWN and not blanked.replace(BLANK, "").strip("?？!！。，,.~ "):
        product = products[0]
        asked = f"您想了解 {product.name} 的哪方面呢？比如价格、颜色、库存、参数、包装清单或保修。"
        return Reply(WHAT_ABOUT, UNKNOWN, asked, (product,))
    answers, attribute = [], general.attribute
    for index, product in enumerate(products[:MAX_PRODUCTS]):
        question = read_question(blanked, catalog, product, item)
        attribute = question.attribute if index == 0 else attribute
        answers.append(answer_for(product, question, catalog))
    reply_text = "\n".join(answer for answer, _ in answers)
    if not any(known for _, known in answers):
        return Reply(NOT_KNOWN, attribute, f"{reply_text}{OFFER_PERSON}", tuple(products[:MAX_PRODUCTS]))
    return Reply(ANSWERED, attribute, reply_text, tuple(products[:MAX_PRODUCTS]))
