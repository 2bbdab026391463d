"""Reads the product catalog (`data/catalog/*.yml`) into a Catalog, checking every product and field.

All problems are collected and reported together, each with its file, product and field, so one run of
`make validate` lists everything there is to fix.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

from catalog.errors import CatalogError, Problem
from catalog.model import BRAND, Catalog, Product, Spec, Variant
from catalog.text import fold
from core.yaml_files import read_yaml

ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SKU_PATTERN = re.compile(r"^[A-Z0-9]+(?:-[A-Z0-9]+)*$")
PRICE_PATTERN = re.compile(r"^\d+(?:\.\d{1,2})?$")
FILE_FIELDS = {"spec_words", "products"}
PRODUCT_FIELDS = {
    "id", "name", "category", "aliases", "price", "was_price", "variants", "specs", "in_box", "warranty",
    "notes", "restock",
}
REQUIRED_TEXT = ("name", "category", "warranty")
VARIANT_FIELDS = {"name", "sku", "stock", "price", "words"}
SPEC_FIELDS = {"value", "words"}


class _Checker:
    """Collects the problems of one file, each with its product and field."""

    def __init__(self, path: Path, problems: List[Problem]) -> None:
        self.path = path
        self.problems = problems
        self.product: Optional[str] = None

    def fail(self, message: str, field: Optional[str] = None) -> None:
        self.problems.append(Problem(self.path, message, self.product, field))

    def text(self, raw: Dict[str, Any], name: str, required: bool = True) -> str:
        value = raw.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail("is missing or empty", name)
            return ""
        if not isinstance(value, str):
            self.fail(f"must be text (got {value!r})", name)
            return ""
        return value.strip()

    def words(self, value: Any, field: str, min_length: int = 1) -> Tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(w, str | int) and str(w).strip() for w in value):
            self.fail("must be a list of non-empty words", field)
            return ()
        words = tuple(dict.fromkeys(str(w).strip() for w in value))
        for word in words:
            if len(fold(word)) < min_length:
                self.fail(f"'{word}' is too short to find in a message (at least {min_length} characters)", field)
            elif fold(word) == fold(BRAND):
                self.fail(f"'{word}' is the brand: it names every product, not this one", field)
        return words

    def price(self, value: Any, field: str, required: bool = True) -> Optional[Decimal]:
        if value is None:
            if required:
                self.fail('is missing: a price in yuan, in quotes, like "599.00"', field)
            return None
        if isinstance(value, bool) or not isinstance(value, str | int) or not PRICE_PATTERN.match(str(value)):
            self.fail(f'must be a price in yuan, in quotes, like "599.00" (got {value!r})', field)
            return None
        return Decimal(str(value))


def _variants(raw: Any, check: _Checker) -> Tuple[Variant, ...]:
    if not isinstance(raw, list) or not raw:
        check.fail("must be a non-empty list of variants (name, sku, stock)", "variants")
        return ()
    variants = []
    for index, item in enumerate(raw, start=1):
        field = f"variants[{index}]"
        if not isinstance(item, dict):
            check.fail("must be a mapping with name, sku and stock", field)
            continue
        before = len(check.problems)
        unknown = sorted(set(item) - VARIANT_FIELDS)
        if unknown:
            check.fail(f"unknown field(s) {unknown}", field)
        name = item.get("name")
        if not isinstance(name, str | int) or isinstance(name, bool) or not str(name).strip():
            check.fail(f"needs a 'name' (got {name!r})", f"{field}.name")
        name = str(name).strip()
        sku = item.get("sku")
        if not isinstance(sku, str) or not SKU_PATTERN.match(sku):
            check.fail(f"needs a 'sku' of capital letters, digits and hyphens (got {sku!r})", f"{field}.sku")
        stock = item.get("stock")
        if isinstance(stock, bool) or not isinstance(stock, int) or stock < 0:
            check.fail(f"needs a 'stock': a whole number, 0 when sold out (got {stock!r})", f"{field}.stock")
        price = check.price(item.get("price"), f"{field}.price", required=False)
        words = check.words(item.get("words"), f"{field}.words")
        if len(check.problems) == before:
            variants.append(Variant(name=name, sku=sku, stock=stock, price=price, words=words))
    names = [v.name for v in variants]
    for name in sorted({n for n in names if names.count(n) > 1}):
        check.fail(f"variant name '{name}' is used twice", "variants")
    return tuple(variants)


def _specs(raw: Any, spec_words: Dict[str, Tuple[str, ...]], check: _Checker) -> Tuple[Spec, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        check.fail("must be a mapping of spec name to value (续航: 单次 8 小时)", "specs")
        return ()
    specs = []
    for name, value in raw.items():
        field = f"specs.{name}"
        words: Tuple[str, ...] = ()
        if isinstance(value, dict):
            unknown = sorted(set(value) - SPEC_FIELDS)
            if unknown:
                check.fail(f"unknown field(s) {unknown}: a spec is a value, or 'value' and 'words'", field)
                continue
            words = check.words(value.get("words"), f"{field}.words", min_length=2)
            value = value.get("value")
        if isinstance(value, float):
            check.fail(f"write the value in quotes, as customers should read it (got {value!r})", field)
            continue
        if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
            check.fail(f"needs a value: text such as 单次 8 小时 (got {value!r})", field)
            continue
        name = str(name).strip()
        shared = spec_words.get(name, ())
        specs.append(Spec(name=name, value=str(value).strip(), words=tuple(dict.fromkeys((*shared, *words)))))
    return tuple(specs)


def _product(raw: Any, index: int, spec_words: Dict[str, Tuple[str, ...]], check: _Checker) -> Optional[Product]:
    check.product = None
    if not isinstance(raw, dict):
        check.fail(f"product {index} must be a mapping")
        return None
    product_id = raw.get("id")
    if not isinstance(product_id, str) or not ID_PATTERN.match(product_id):
        check.fail(
            f"product {index} needs an 'id' of lowercase letters, digits and hyphens (got {product_id!r})", "id"
        )
        return None
    check.product = product_id
    before = len(check.problems)
    unknown = sorted(set(raw) - PRODUCT_FIELDS)
    if unknown:
        check.fail(f"unknown field(s) {unknown}")
    name, category, warranty = (check.text(raw, field) for field in REQUIRED_TEXT)
    aliases = check.words(raw.get("aliases"), "aliases", min_length=2)
    price = check.price(raw.get("price"), "price")
    was_price = check.price(raw.get("was_price"), "was_price", required=False)
    if price is not None and was_price is not None and was_price <= price:
        check.fail(f"must be more than the price {price} (it is the price before a reduction)", "was_price")
    variants = _variants(raw.get("variants"), check)
    specs = _specs(raw.get("specs"), spec_words, check)
    in_box = raw.get("in_box")
    if not isinstance(in_box, list) or not in_box or not all(isinstance(i, str) and i.strip() for i in in_box):
        check.fail("must be a non-empty list of what is in the box", "in_box")
        in_box = []
    notes = check.text(raw, "notes", required=False)
    restock = check.text(raw, "restock", required=False)
    if variants and not any(v.in_stock for v in variants) and not restock:
        check.fail("every variant is out of stock: say what customers are told (补货时间, or 暂无补货计划)", "restock")
    if len(check.problems) > before:
        return None
    return Product(
        id=product_id, name=name, category=category, aliases=aliases, price=price, was_price=was_price,
        variants=variants, specs=specs, in_box=tuple(i.strip() for i in in_box), warranty=warranty,
        notes=notes, restock=restock, source=check.path,
    )


def _spec_words(raw: Any, check: _Checker) -> Dict[str, Tuple[str, ...]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        check.fail("must be a mapping of spec name to the words customers use for it", "spec_words")
        return {}
    return {str(name): check.words(words, f"spec_words.{name}", min_length=2) for name, words in raw.items()}


def _read_file(path: Path, problems: List[Problem]) -> Optional[Dict[str, Any]]:
    content, unreadable = read_yaml(path)
    if unreadable:
        problems.append(Problem(path, unreadable))
        return None
    if not isinstance(content, dict) or not isinstance(content.get("products"), list):
        problems.append(Problem(path, "must be a mapping with a list 'products' (and optionally 'spec_words')"))
        return None
    unknown = sorted(set(content) - FILE_FIELDS)
    if unknown:
        problems.append(Problem(path, f"unknown top-level field(s) {unknown}"))
    return content


def catalog_files(path: Union[str, Path]) -> List[Path]:
    """The catalog's files: `path` itself, or every `*.yml` in it when it is a folder."""
    root = Path(path)
    if root.is_dir():
        return sorted(root.glob("*.yml"))
    return [root] if root.is_file() else []


def load_catalog(path: Union[str, Path]) -> Catalog:
    """Loads one catalog file, or every `*.yml` in a folder; raises CatalogError listing all problems."""
    files = catalog_files(path)
    if not files:
        raise CatalogError([Problem(Path(path), "no catalog file (*.yml) found")])
    problems: List[Problem] = []
    contents = [(file, content) for file in files if (content := _read_file(file, problems)) is not None]
    catalog = Catalog()
    for file, content in contents:
        for name, words in _spec_words(content.get("spec_words"), _Checker(file, problems)).items():
            catalog.spec_words[name] = tuple(dict.fromkeys((*catalog.spec_words.get(name, ()), *words)))
    skus: Dict[str, str] = {}
    for file, content in contents:
        check = _Checker(file, problems)
        for index, raw in enumerate(content["products"], start=1):
            product = _product(raw, index, catalog.spec_words, check)
            if product is None:
                continue
            if product.id in catalog:
                check.fail(f"duplicate id, first defined in {catalog.get(product.id).source}", "id")
                continue
            for variant in product.variants:
                if variant.sku in skus:
                    check.fail(f"SKU '{variant.sku}' is also a variant of '{skus[variant.sku]}'", "variants")
                skus.setdefault(variant.sku, product.id)
            catalog.products[product.id] = product
    if problems:
        raise CatalogError(problems)
    return catalog
