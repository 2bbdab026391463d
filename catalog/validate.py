"""`python -m catalog.validate`: checks the product catalog (run by `make validate`)."""

from __future__ import annotations

import sys

from catalog.errors import CatalogError
from catalog.loader import load_catalog
from catalog.lookup import catalog_path


def main() -> int:
    """Prints a summary, or every problem with its file, product and field; exit code 1 on problems."""
    try:
        catalog = load_catalog(catalog_path())
    except CatalogError as error:
        print(error, file=sys.stderr)
        return 1
    groups = catalog.by_category()
    sold_out = [p.id for p in catalog if not p.in_stock]
    print(f"Product catalog OK: {len(catalog)} products in {len(groups)} categories"
          + (f" ({len(sold_out)} sold out: {', '.join(sold_out)})" if sold_out else ""))
    for category, products in groups.items():
        print(f"  {len(products):>3}  {category}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
