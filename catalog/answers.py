"""The Chinese answer to one question about a product (or two, for a comparison), from the catalog alone.

Every sentence says only what the catalog holds. What it does not hold is said plainly: the caller offers a
person then.
"""

from __future__ import annotations

from decimal import Decimal
from typing import List, Optional, Sequence, Tuple

from catalog.model import Catalog, Product, Variant
from catalog.question import (
    IN_BOX,
    PRICE,
    SPEC,
    STOCK,
    VARIANTS,
    WARRANTY,
    Question,
    product_spec,
    variants_named,
    vocabulary_spec,
)
from catalog.text import fold

LOW_STOCK = 5
MAX_COMPARED_SPECS = 6
PRICE_CAVEAT = "实际到手价以下单页面为准（优惠券、会员折扣另算）。"
SEPARATOR = "、"


def yuan(amount: Decimal) -> str:
    """¥599 for 599.00, ¥29.9 for 29.90."""
    text = f"{amount:.2f}".rstrip("0").rstrip(".")
    return f"¥{text}"


def availability(variant: Variant) -> str:
    """有货, 仅剩 3 件 or 暂时缺货."""
    if not variant.in_stock:
        return "暂时缺货"
    return f"仅剩 {variant.stock} 件" if variant.stock <= LOW_STOCK else "有货"


def _listed(variants: Sequence[Variant]) -> str:
    return SEPARATOR.join(f"{v.name}（{availability(v)}）" for v in variants)


def _names(variants: Sequence[Variant]) -> str:
    return SEPARATOR.join(v.name for v in variants)


def _restock(product: Product) -> str:
    return product.restock if product.restock else "补货时间暂时还没有确定。"


def price_text(product: Product, question: Question) -> str:
    """The price, per variant when variants cost differently, with the price before a reduction."""
    named = variants_named(question.text, product, question.colour)
    prices = {product.price_of(v) for v in product.variants}
    if named and len(prices) > 1:
        listed = "；".join(f"{v.name} {yuan(product.price_of(v))}" for v in named)
        return f"{product.name}：{listed}。{PRICE_CAVEAT}"
    if len(prices) > 1:
        listed = "；".join(f"{v.name} {yuan(product.price_of(v))}" for v in product.variants)
        return f"{product.name} 的价格：{listed}。{PRICE_CAVEAT}"
    text = f"{product.name} 现价 {yuan(product.price)}"
    if product.was_price:
        text += f"（原价 {yuan(product.was_price)}，立省 {yuan(product.was_price - product.price)}）"
    return f"{text}。{PRICE_CAVEAT}"


def variants_text(product: Product, question: Question) -> str:
    """The variants there are, or whether the one asked for exists and can be bought."""
    named = variants_named(question.text, product, question.colour)
    everything = f"{product.name} 目前可选：{_listed(product.variants)}。"
    if not named and question.colour:
        return f"{product.name} 没有{question.colour}色的款式，目前可选：{_listed(product.variants)}。"
    if not named:
        return everything
    if all(v.in_stock for v in named):
        return f"有的，{product.name} 有{_listed(named)}。"
    others = [v for v in product.variants if v.in_stock and v not in named]
    if not any(v.in_stock for v in named):
        text = f"{product.name} 有{_names(named)}，不过目前暂时缺货。{_restock(product)}"
    else:
        text = f"{product.name} 有{_listed(named)}。{_restock(product)}"
    if others:
        text += f"现在有货的是：{_names(others)}。"
    return text


def stock_text(product: Product, question: Question) -> str:
    """Whether the product, or the variant asked for, can be bought now."""
    if not product.in_stock:
        return f"{product.name} 目前全部暂时缺货。{_restock(product)}"
    named = variants_named(question.text, product, question.colour)
    if not named and question.colour:
        return f"{product.name} 没有{question.colour}色的款式。目前：{_listed(product.variants)}。"
    if named:
        text = f"{product.name} {_listed(named)}。"
        if not all(v.in_stock for v in named):
            text += _restock(product)
            others = [v for v in product.variants if v.in_stock and v not in named]
            if others:
                text += f"现在有货的是：{_names(others)}。"
        return text
    if all(v.in_stock for v in product.variants):
        if len(product.variants) == 1:
            return f"{product.name} 有货（{availability(product.variants[0])}），现在下单就能安排发货。"
        return f"{product.name} 有货：{_listed(product.variants)}。"
    missing = [v for v in product.variants if not v.in_stock]
    present = [v for v in product.variants if v.in_stock]
    return f"{product.name} 目前{_listed(present)}；{_names(missing)}暂时缺货。{_restock(product)}"


def spec_text(product: Product, question: Question, catalog: Catalog) -> Tuple[str, bool]:
    """The spec asked about and whether the catalog knows it; an honest "not listed" when it does not."""
    spec = product_spec(question.text, product)
    if spec:
        return f"{product.name} 的{spec.name}：{spec.value}。", True
    asked = vocabulary_spec(question.text, catalog) or "这一项"
    text = f"{product.name} 的商品资料里没有写{asked}，我这边不确定，不想乱说。"
    if product.specs:
        text += f"资料里有的参数：{SEPARATOR.join(s.name for s in product.specs)}。"
    return text, False


def _in_box_matches(product: Product, group: Sequence[str]) -> List[str]:
    words = [fold(w) for w in group if len(w) >= 2]
    return [entry for entry in product.in_box if any(w in fold(entry) for w in words)]


def _seller_of(group: Sequence[str], catalog: Catalog, besides: Product) -> Optional[Product]:
    words = {fold(w) for w in group}
    sellers = [p for p in catalog if p is not besides and words & {fold(a) for a in p.aliases}]
    return next((p for p in sellers if p.in_stock), sellers[0] if sellers else None)


def in_box_text(product: Product, question: Question, catalog: Catalog) -> str:
    """What is in the box; for an accessory asked about, whether it is there, and where to buy it if not."""
    listed = f"包装里有：{SEPARATOR.join(product.in_box)}。"
    notes = f"{product.notes}" if product.notes else ""
    item = question.item
    if not item:
        return f"{product.name} 的{listed}{notes}"
    found = _in_box_matches(product, item.group)
    if found:
        return f"带的，{product.name} 包装里有：{SEPARATOR.join(found)}。完整清单：{SEPARATOR.join(product.in_box)}。"
    word = item.word if len(item.word) >= 2 else item.group[0]
    text = f"{product.name} 不带{word}，{listed}{notes}"
    seller = _seller_of(item.group, catalog, product)
    if seller:
        text += f"需要的话可以单独购买 {seller.name}（{yuan(seller.price)}）。"
    return text


def warranty_text(product: Product) -> str:
    """The product's warranty as the catalog states it."""
    return f"{product.name} 的保修：{product.warranty}"


def compare_text(first: Product, second: Product) -> str:
    """A short side-by-side: price, the specs both list, and stock when one cannot be bought."""
    lines = [f"{first.name} 和 {second.name} 对比：", f"· 价格：{yuan(first.price)} / {yuan(second.price)}"]
    shared = [(spec, second.spec(spec.name)) for spec in first.specs if second.spec(spec.name)]
    for spec, other in shared[:MAX_COMPARED_SPECS]:
        lines.append(f"· {spec.name}：{spec.value} / {other.value}")
    if len(lines) == 2 and first.category != second.category:
        lines.append(f"· 类别：{first.category} / {second.category}")
    if not (first.in_stock and second.in_stock):
        lines.append(f"· 库存：{'有货' if first.in_stock else '缺货'} / {'有货' if second.in_stock else '缺货'}")
    lines.append("想了解哪一款的更多细节，直接问我就好。")
    return "\n".join(lines)


def unknown_text(product: Product) -> str:
    """The honest answer to a question the catalog cannot place."""
    return f"这个问题 {product.name} 的商品资料里没有写到，我这边不确定，不想乱说。"


def answer_for(product: Product, question: Question, catalog: Catalog) -> Tuple[str, bool]:
    """The answer about one product, and whether the catalog knew it."""
    if question.attribute == PRICE:
        return price_text(product, question), True
    if question.attribute == VARIANTS:
        return variants_text(product, question), True
    if question.attribute == STOCK:
        return stock_text(product, question), True
    if question.attribute == SPEC:
        return spec_text(product, question, catalog)
    if question.attribute == IN_BOX:
        return in_box_text(product, question, catalog), True
    if question.attribute == WARRANTY:
        return warranty_text(product), True
    return unknown_text(product), False
