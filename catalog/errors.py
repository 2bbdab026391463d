"""Errors that name the file, the product and the field a person has to fix."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List, Optional


@dataclass(frozen=True)
class Problem:
    """One thing wrong in the catalog, and where."""

    path: Path
    message: str
    product: Optional[str] = None
    field: Optional[str] = None

    def __str__(self) -> str:
        where = f"{self.path}"
        if self.product:
            where += f", product '{self.product}'"
        if self.field:
            where += f", field '{self.field}'"
        return f"{where}: {self.message}"


class CatalogError(ValueError):
    """The catalog cannot be used; carries every problem found, not just the first."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: List[Problem] = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"The product catalog has {len(self.problems)} problem(s):\n{lines}")
