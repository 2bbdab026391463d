"""What a knowledge-base entry is, and the collection of them."""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Mapping, Optional, Tuple


@dataclass(frozen=True)
class AnswerVariant:
    """An answer used instead of the default when all `when` entities are known."""

    when: Tuple[str, ...]
    answer: str

    def placeholders(self) -> List[str]:
        """Names used as `{name}` in the answer text."""
        return [name for _, name, _, _ in string.Formatter().parse(self.answer) if name]


@dataclass(frozen=True)
class FaqEntry:
    """One question the bot can answer."""

    key: str
    category: str
    question: str
    paraphrases: Tuple[str, ...]
    answer: str
    variants: Tuple[AnswerVariant, ...] = ()
    follow_ups: Tuple[str, ...] = ()
    source: Optional[Path] = None

    def texts(self) -> Tuple[str, ...]:
        """The question and its paraphrases: what search matches against."""
        return (self.question, *self.paraphrases)

    def answer_for(self, entities: Mapping[str, str]) -> str:
        """The most specific answer the given entity values allow."""
        for variant in self.variants:
            if all(entities.get(name) for name in variant.when):
                return variant.answer.format_map({n: entities[n] for n in variant.when})
        return self.answer


@dataclass
class KnowledgeBase:
    """All entries, by key, with the display name of each category."""

    entries: Dict[str, FaqEntry] = field(default_factory=dict)
    category_names: Dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[FaqEntry]:
        return iter(self.entries.values())

    def __contains__(self, key: object) -> bool:
        return key in self.entries

    def get(self, key: str) -> Optional[FaqEntry]:
        """The entry with this key, or None."""
        return self.entries.get(key)

    def by_category(self) -> Dict[str, List[FaqEntry]]:
        """Entries grouped by category, in file order."""
        groups: Dict[str, List[FaqEntry]] = {}
        for entry in self.entries.values():
            groups.setdefault(entry.category, []).append(entry)
        return groups
