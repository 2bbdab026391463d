"""Errors that name the file and the entry a person has to fix."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List, Optional


@dataclass(frozen=True)
class Problem:
    """One thing wrong in the knowledge base, and where."""

    path: Path
    message: str
    key: Optional[str] = None

    def __str__(self) -> str:
        where = f"{self.path}"
        if self.key:
            where += f", entry '{self.key}'"
        return f"{where}: {self.message}"


class KnowledgeBaseError(ValueError):
    """The knowledge base cannot be used; carries every problem found, not just the first."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: List[Problem] = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(
            f"The knowledge base has {len(self.problems)} problem(s):\n{lines}"
        )
