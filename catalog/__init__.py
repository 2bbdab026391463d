"""The shop's product catalog: products, loading and validation, lookup by name, and answers to questions."""

from catalog.errors import CatalogError, Problem
from catalog.loader import load_catalog
from catalog.model import Catalog, Product, Spec, Variant

__all__ = ["Catalog", "CatalogError", "Problem", "Product", "Spec", "Variant", "load_catalog"]
