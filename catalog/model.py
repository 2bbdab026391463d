"""What a product in the catalog is, and the catalog of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Dict, Iterator, Optional, Tuple

# the shop's brand, which every product name starts with; on its own it names no product
BRAND = "云朵"


@dataclass(frozen=True)
class Variant:
    """One buyable version of a product (a colour, a size, a switch type) with its own SKU and stock."""

    name: str
    sku: str
    stock: int
    # a price of its own when it differs from the product's (512GB costs more than 256GB)
    price: Optional[Decimal] = None
    # more words customers use for it (黑色 for 夜空黑 is found anyway; 2米 for 2m is not)
    words: Tuple[str, ...] = ()

    @property
    def in_stock(self) -> bool:
        return self.stock > 0


@dataclass(frozen=True)
class Spec:
    """One line of the product's specifications, with the words customers use to ask about it."""

    name: str
    value: str
    words: Tuple[str, ...] = ()

    def terms(self) -> Tuple[str, ...]:
        """The spec's name and the words for it."""
        return (self.name, *self.words)


@dataclass(frozen=True)
class Product:
    """One product of the shop, as the catalog describes it to customers."""

    id: str
    name: str
    category: str
    aliases: Tuple[str, ...]
    price: Decimal
    variants: Tuple[Variant, ...]
    specs: Tuple[Spec, ...]
    in_box: Tuple[str, ...]
    warranty: str
    was_price: Optional[Decimal] = None
    notes: str = ""
    # what to tell customers while every variant is out of stock (when more is expected)
    restock: str = ""
    source: Optional[Path] = field(default=None, compare=False)

    @property
    def short_name(self) -> str:
        """The name without the brand: 无线降噪耳机 Pro for 云朵 无线降噪耳机 Pro."""
        rest = self.name[len(BRAND):].strip() if self.name.startswith(BRAND) else self.name
        return rest or self.name

    def names(self) -> Tuple[str, ...]:
        """Every way customers name the product: its name, the name without the brand, its aliases."""
        return tuple(dict.fromkeys((self.name, self.short_name, *self.aliases)))

    @property
    def in_stock(self) -> bool:
        """Whether any variant can be bought now."""
        return any(v.in_stock for v in self.variants)

    def spec(self, name: str) -> Optional[Spec]:
        """The spec with this name, or None."""
        return next((s for s in self.specs if s.name == name), None)

    def variant_with_sku(self, sku: str) -> Optional[Variant]:
        """The variant with this SKU (case-insensitive), or None."""
        return next((v for v in self.variants if v.sku.lower() == sku.lower()), None)

    def price_of(self, variant: Variant) -> Decimal:
        """What one variant costs."""
        return variant.price if variant.price is not None else self.price


@dataclass(eq=False)
class Catalog:
    """All products by id, with the shop's words for each spec (shared by every product).

    Compared and hashed by identity, so a catalog can key a cache of what is derived from it.
    """

    products: Dict[str, Product] = field(default_factory=dict)
    # spec name -> the words customers use for it in any product (续航 <- 电池, 能用多久, 待机 ...)
    spec_words: Dict[str, Tuple[str, ...]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.products)

    def __iter__(self) -> Iterator[Product]:
        return iter(self.products.values())

    def __contains__(self, product_id: object) -> bool:
        return product_id in self.products

    def get(self, product_id: str) -> Optional[Product]:
        """The product with this id, or None."""
        return self.products.get(product_id)

    def with_sku(self, sku: str) -> Optional[Product]:
        """The product one of whose variants has this SKU (case-insensitive), or None."""
        return next((p for p in self if p.variant_with_sku(sku)), None)

    def by_category(self) -> Dict[str, Tuple[Product, ...]]:
        """Products grouped by category, in file order."""
        groups: Dict[str, Tuple[Product, ...]] = {}
        for product in self:
            groups[product.category] = (*groups.get(product.category, ()), product)
        return groups
