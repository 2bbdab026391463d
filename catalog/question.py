"""What a customer asks about a product: the attribute, and the colour, variant, spec or box item it names.

Read on folded text (catalog/text.py) by cue words, in a fixed order: a comparison, what is in the box,
the warranty, the price, the stock, (how to use it: not in the catalog), the variants, one spec. Words
that name a product are blanked out before, so 降噪耳机 is a product, not a question about 降噪.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

from catalog.model import Catalog, Product, Spec, Variant
from catalog.text import find_term, fold

PRICE, VARIANTS, STOCK, SPEC, IN_BOX, WARRANTY, COMPARE, UNKNOWN = (
    "price", "variants", "stock", "spec", "in_box", "warranty", "compare", "unknown",
)
ATTRIBUTES = (PRICE, VARIANTS, STOCK, SPEC, IN_BOX, WARRANTY, COMPARE, UNKNOWN)

COMPARE_CUES = (
    "区别", "不同", "差别", "对比", "比较", "哪个好", "哪款好", "哪个更", "哪款更", "选哪个", "选哪款", "买哪个",
    "买哪款", "不一样", "差在哪", "相比", "比起", "比哪个", "比哪款", "vs",
)
# 哪个降噪好, 哪款续航长: which of two is better at something
_WHICH_IS_BETTER = re.compile(
    r"哪(?:个|款|一款|一个)[^，。？?！!]{0,6}(?:好(?!看)|强|长|大|小|轻|重|快|便宜|贵|值|划算)"
)
# how to use or set up: the catalog holds no instructions
HOW_TO_CUES = (
    "怎么用", "怎么连", "怎么打开", "怎么设置", "怎么切换", "怎么装", "怎么安装", "怎么弄", "怎么调", "怎么清洗",
    "怎么充", "如何", "咋用", "咋连", "咋弄", "教程", "步骤", "使用方法",
)
IN_BOX_CUES = (
    "包装清单", "包装里", "盒子里", "盒里", "配件", "标配", "附件", "都有什么东西", "里面有什么", "带什么", "送什么",
    "配什么", "附带什么", "有哪些东西", "开箱", "带不带", "送不送", "配不配", "自带",
)
WARRANTY_CUES = (
    "保修", "质保", "保固", "包换", "只换不修", "保多久", "保几年", "坏了怎么办", "坏了能修", "坏了可以换", "包修",
    "维修", "售后多久",
)
PRICE_CUES = (
    "多少钱", "价格", "价钱", "什么价", "啥价", "几块", "多钱", "售价", "卖多少", "到手价", "到手多少", "贵不贵",
    "多少前", "原价", "多少元", "怎么卖", "差多少钱", "几毛", "价位",
)
STOCK_CUES = (
    "有货", "现货", "库存", "缺货", "没货", "断货", "还有吗", "还有没有", "还有么", "还有嘛", "补货", "到货",
    "售罄", "卖完", "还剩", "几时有", "什么时候有", "能买吗", "能下单", "能拍吗", "还卖吗", "卖光",
)
VARIANT_CUES = (
    "颜色", "什么色", "几个色", "几种色", "哪些色", "配色", "色号", "款式", "几款", "哪几款", "尺码", "颜涩",
    "别的色",
)
# accessories customers ask about, in groups of words for the same thing; the first names the group
BOX_ITEMS: Tuple[Tuple[str, ...], ...] = (
    ("充电线", "数据线", "线材", "连接线", "typec线", "c口线"),
    ("充电器", "充电头", "插头", "适配器", "快充头"),
    ("耳塞", "耳帽", "耳塞套"),
    ("说明书", "使用手册", "保修卡"),
    ("收纳袋", "收纳包", "收纳盒", "保护套", "保护壳", "手机壳"),
    ("电池",),
    ("滤芯", "滤网"),
    ("刷头",),
    ("边刷",),
    ("拖布",),
    ("遥控器",),
    ("接收器",),
    ("表带",),
    ("底座", "充电座", "充电底座"),
    ("蒸笼", "蒸架"),
    ("量杯",),
    ("饭勺", "勺子"),
    ("食谱", "菜谱"),
    ("茶漏",),
    ("音频线",),
    ("转接头", "转换头"),
    ("挂绳",),
    ("拔键器",),
    ("取卡针",),
)
# words that ask whether something comes with the product (配 but not 适配, 配得上: those ask if it fits)
_BOX_VERBS = re.compile(r"带|送|(?<![适搭匹分装])配(?![我你他她得上合])|附|含|包括|包含|有")
# the verb after the item: 充电头有吗, 边刷送几个, 说明书有没有 (not 电池有多大)
_VERB_AFTER = re.compile(r"^(?:都|也|还|会|能)?(?:带|送|配|附|含|有)(?:吗|没|不|么|嘛|几|的吗)")
VERB_BEFORE_CHARS = 6
# 带线吗, 送线吗: the bare word 线 only right after such a verb
_BARE_CABLE = re.compile(r"(?:带|送|配|附)(?:根|条)?线")
COLOURS = "黑白灰蓝红绿粉紫黄金银橙棕青"
_ASKED_COLOUR = re.compile(rf"([{COLOURS}])(?:色|的|款)|(米)色")
BLANK = "|"


@dataclass(frozen=True)
class BoxItem:
    """An accessory the customer asks about: the word they used, its group, where it is in the text."""

    word: str
    group: Tuple[str, ...]
    start: int
    end: int


@dataclass(frozen=True)
class Question:
    """What one message asks, read before the product is known; `text` is folded, product names blanked."""

    attribute: str
    text: str
    item: Optional[BoxItem] = None
    colour: Optional[str] = None


def blank(folded: str, spans: Sequence[Tuple[int, int]]) -> str:
    """The folded text with these spans (product names) replaced by a character no cue contains."""
    chars = list(folded)
    for start, end in spans:
        chars[start:end] = BLANK * (end - start)
    return "".join(chars)


def asked_item(folded: str, names: Sequence[Tuple[int, int]] = ()) -> Optional[BoxItem]:
    """The accessory a message asks about (带充电线吗, 有充电头吗, 充电头有吗), when a word just before or
    after it asks whether it comes with the product; product names (`names`: spans) and the item itself
    are not read for that word (not the 带 of 表带)."""
    for group in BOX_ITEMS:
        for word in sorted(group, key=len, reverse=True):
            start = find_term(folded, word)
            while start >= 0:
                item = BoxItem(word, group, start, start + len(word))
                overlapping = [span for span in names if span[0] < item.end and item.start < span[1]]
                if all(item.start <= s and e <= item.end for s, e in overlapping):  # not 表带 across 手表带
                    text = blank(folded, [span for span in names if span not in overlapping])
                    before = text[max(0, item.start - VERB_BEFORE_CHARS): item.start]
                    asks = _BOX_VERBS.search(before) or _VERB_AFTER.match(text[item.end:])
                    return item if asks else None
                start = find_term(folded, word, start + 1)
    bare = _BARE_CABLE.search(folded)
    if bare:
        return BoxItem("线", BOX_ITEMS[0], bare.end() - 1, bare.end())
    return None


def asked_colour(text: str) -> Optional[str]:
    """The colour a message asks for (黑 for 有黑色吗, 白 for 白的还有吗), or None."""
    match = _ASKED_COLOUR.search(text)
    return (match.group(1) or match.group(2)) if match else None


def _has_any(text: str, cues: Sequence[str]) -> bool:
    return any(find_term(text, cue) >= 0 for cue in cues)


def vocabulary_spec(text: str, catalog: Catalog) -> Optional[str]:
    """The spec the shop's vocabulary (spec_words) finds in the text, by its longest word; or None."""
    best: Optional[Tuple[int, str]] = None
    for name, words in catalog.spec_words.items():
        for term in (name, *words):
            folded = fold(term)
            if folded and find_term(text, folded) >= 0 and (best is None or len(folded) > best[0]):
                best = (len(folded), name)
    return best[1] if best else None


def product_spec(text: str, product: Product) -> Optional[Spec]:
    """The product's spec whose name or words occur in the text, by the longest; or None."""
    best: Optional[Tuple[int, Spec]] = None
    for spec in product.specs:
        for term in spec.terms():
            folded = fold(term)
            if folded and find_term(text, folded) >= 0 and (best is None or len(folded) > best[0]):
                best = (len(folded), spec)
    return best[1] if best else None


def _variant_terms(variant: Variant) -> List[str]:
    parts = [fold(p) for p in variant.name.split()] if len(variant.name.split()) > 1 else []
    terms = [fold(variant.name), *parts, *(fold(w) for w in variant.words)]
    terms += [t[:-1] for t in terms if t.endswith("gb")]  # 256g for 256GB
    return [t for t in dict.fromkeys(terms) if len(t) >= 2]


def variants_named(text: str, product: Product, colour: Optional[str]) -> List[Variant]:
    """The product's variants the text names: by name, parts of it (茶轴), a word, or the colour asked.

    Where several match, those matching the most terms (白色茶轴 is 白色 茶轴, not 黑色 茶轴).
    """
    scores = {v.sku: sum(find_term(text, t) >= 0 for t in _variant_terms(v)) for v in product.variants}
    best = max(scores.values(), default=0)
    if best:
        return [v for v in product.variants if scores[v.sku] == best]
    if colour:
        return [v for v in product.variants if colour in v.name]
    return []


def read_question(text: str, catalog: Catalog, product: Optional[Product] = None,
                  item: Optional[BoxItem] = None) -> Question:
    """Which attribute `text` (folded, product names blanked) asks about, for `product` when it is known.

    `item` is the accessory asked about (asked_item), if it was kept as one.
    """
    colour = asked_colour(text)

    def question(attribute: str) -> Question:
        return Question(attribute, text, item if attribute == IN_BOX else None, colour)

    if _has_any(text, COMPARE_CUES) or _WHICH_IS_BETTER.search(text):
        return question(COMPARE)
    if (item and not colour) or _has_any(text, IN_BOX_CUES):
        return question(IN_BOX)
    if _has_any(text, WARRANTY_CUES):
        return question(WARRANTY)
    if _has_any(text, PRICE_CUES):
        return question(PRICE)
    if _has_any(text, STOCK_CUES):
        return question(STOCK)
    if _has_any(text, HOW_TO_CUES):
        return question(UNKNOWN)
    if colour or _has_any(text, VARIANT_CUES) or (product and variants_named(text, product, None)):
        return question(VARIANTS)
    if (product and product_spec(text, product)) or vocabulary_spec(text, catalog):
        return question(SPEC)
    return question(UNKNOWN)

