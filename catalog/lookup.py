"""Finding products: by the words of a message, by id or SKU, by a page's title or link.

Matching is on folded text (catalog/text.py: the NLU's folding, whitespace removed): a name or alias
names a product wherever it occurs, the longest one winning where two overlap (耳机收纳包 is the case,
not the earbuds).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Tuple
from urllib.parse import unquote, urlparse

from catalog.loader import load_catalog
from catalog.model import Catalog, Product
from catalog.text import find_term, fold
from core.settings import project_path, settings


def catalog_path() -> Path:
    """Where the shop's catalog is (settings.yml `catalog.path`)."""
    return project_path(str(settings()["catalog"]["path"]))


@lru_cache(maxsize=1)
def shop_catalog() -> Catalog:
    """The shop's catalog, loaded once per process."""
    return load_catalog(catalog_path())


@dataclass(frozen=True)
class Mention:
    """Words of a message that name one product, or several (耳机: every pair of earbuds)."""

    start: int
    end: int
    term: str
    products: Tuple[Product, ...]

    @property
    def ambiguous(self) -> bool:
        return len(self.products) > 1


@lru_cache(maxsize=8)
def _name_index(catalog: Catalog) -> Dict[str, Tuple[Product, ...]]:
    """Folded name or alias -> the products it names, longest terms first."""
    index: Dict[str, Tuple[Product, ...]] = {}
    for product in catalog:
        for name in product.names():
            term = fold(name)
            if term and product not in index.get(term, ()):
                index[term] = (*index.get(term, ()), product)
    return dict(sorted(index.items(), key=lambda item: -len(item[0])))


def mentions_in(text: str, catalog: Optional[Catalog] = None) -> List[Mention]:
    """The product names and aliases in the text, in the order they occur; overlapping ones are
    resolved for the longest. Offsets are into the folded text."""
    catalog = catalog or shop_catalog()
    folded = fold(text)
    taken: List[Mention] = []
    for term, products in _name_index(catalog).items():
        start = find_term(folded, term)
        while start >= 0:
            end = start + len(term)
            if not any(m.start < end and start < m.end for m in taken):
                taken.append(Mention(start, end, term, products))
            start = find_term(folded, term, start + 1)
    return sorted(taken, key=lambda m: m.start)


def products_named_in(text: str, catalog: Optional[Catalog] = None) -> List[Product]:
    """Products whose name or an alias appears in the text, in order of appearance, each once.

    A word several products share (耳机, 充电宝) gives all of them.
    """
    found: Dict[str, Product] = {}
    for mention in mentions_in(text, catalog):
        for product in mention.products:
            found.setdefault(product.id, product)
    return list(found.values())


def product_by_id(product_id: str, catalog: Optional[Catalog] = None) -> Optional[Product]:
    """The product with this id, or the one with a variant of this SKU; None when there is none."""
    catalog = catalog or shop_catalog()
    key = (product_id or "").strip()
    return catalog.get(key) or catalog.get(key.lower()) or (catalog.with_sku(key) if key else None)


def product_named(name: str, catalog: Optional[Catalog] = None) -> Optional[Product]:
    """The product with exactly this name (folded), as a button or an earlier turn gives it; or None."""
    catalog = catalog or shop_catalog()
    wanted = fold(name)
    return next((p for p in catalog if fold(p.name) == wanted), None) if wanted else None


def products_called(word: str, catalog: Optional[Catalog] = None) -> List[Product]:
    """Products whose name or an alias is exactly this word (folded); none for 华为手表 though 手表 is one."""
    return list(_name_index(catalog or shop_catalog()).get(fold(word), ()))


def product_by_title(title: str, catalog: Optional[Catalog] = None) -> Optional[Product]:
    """The product whose full name a page title contains (the longest if several), or None.

    Only full names count: a title's category words (耳机) would name many products.
    """
    catalog = catalog or shop_catalog()
    folded = fold(title)
    named = [p for p in catalog if find_term(folded, fold(p.name)) >= 0]
    return max(named, key=lambda p: len(fold(p.name)), default=None)


def product_in_url(url: str, catalog: Optional[Catalog] = None) -> Optional[Product]:
    """The product a link points at: a path segment or query value that is a product id or SKU; or None."""
    try:
        parsed = urlparse((url or "").strip())
    except ValueError:
        return None
    parts = [unquote(p) for p in parsed.path.split("/") if p]
    parts += [unquote(v) for pair in parsed.query.split("&") if "=" in pair for v in [pair.split("=", 1)[1]]]
    for part in reversed(parts):
        stem = part.rsplit(".", 1)[0] if part.endswith((".html", ".htm")) else part
        product = product_by_id(stem, catalog)
        if product:
            return product
    return None
