"""Finds the knowledge-base entries closest to a customer's message.

TF-IDF over words and character bigrams, cosine similarity against each
entry's question and paraphrases; an entry scores its best-matching text.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import List, Optional

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from knowledge.entry import FaqEntry, KnowledgeBase
from knowledge.text import search_tokens


@dataclass(frozen=True)
class SearchHit:
    """An entry and how similar the message is to it (0 to 1)."""

    entry: FaqEntry
    score: float


class KnowledgeSearch:
    """An index over a KnowledgeBase; build once, query many times."""

    def __init__(self, kb: KnowledgeBase, dictionary_dir: Optional[Path] = None) -> None:
        self._entries: List[FaqEntry] = []
        texts: List[str] = []
        for entry in kb:
            for text in entry.texts():
                self._entries.append(entry)
                texts.append(text)
        self._vectorizer = TfidfVectorizer(
            analyzer=partial(search_tokens, dictionary_dir=dictionary_dir),
            sublinear_tf=True,
        )
        self._matrix = self._vectorizer.fit_transform(texts)

    def search(self, message: str, limit: int = 3, min_score: float = 0.0) -> List[SearchHit]:
        """The best `limit` entries scoring at least `min_score`, best first."""
        query = self._vectorizer.transform([message])
        if query.nnz == 0:
            return []
        scores = np.asarray((self._matrix @ query.T).todense()).ravel()
        best: dict = {}
        for index in np.argsort(-scores):
            score = float(scores[index])
            if score < min_score or len(best) >= limit and score <= min(best.values()):
                break
            key = self._entries[index].key
            if key not in best:
                best[key] = score
                if len(best) == limit:
                    break
        by_key = {e.key: e for e in self._entries}
        return [SearchHit(by_key[k], s) for k, s in best.items()]
