"""The labelled personal-data set (evaluation/pii_set.yml) and how the masker is scored on it.

Span-level scoring by character overlap:
- recall: a labelled span counts as found when every character of it except spaces and punctuation lies
  inside some span the masker found (of any kind: a phone masked as a WeChat id is still hidden), so
  nothing of it survives `mask`. A span only partly covered counts as missed.
- precision: a span the masker found counts as right when it overlaps a labelled span by at least one
  character; one that overlaps none masked words that were not personal data.
Per kind, recall is counted under the label's kind and precision under the masker's kind (its `mobile`
and `landline` are the set's `phone`, its `id_card` the set's `id_number`).
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Sequence, Tuple

import yaml

SET_PATH = Path(__file__).with_name("pii_set.yml")
PARTS = ("development", "held_out")
# the masker's kinds under the set's names
SET_KIND = {"mobile": "phone", "landline": "phone", "id_card": "id_number"}


@dataclass(frozen=True)
class Labelled:
    """One message and its personal data as (kind, start, end)."""

    text: str
    spans: Tuple[Tuple[str, int, int], ...]


@dataclass
class Tally:
    """Counts for one kind (or all): labelled spans found, and the masker's spans that were right."""

    labelled: int = 0
    found: int = 0
    predicted: int = 0
    right: int = 0

    @property
    def recall(self) -> float:
        return self.found / self.labelled if self.labelled else 1.0

    @property
    def precision(self) -> float:
        return self.right / self.predicted if self.predicted else 1.0


def load(part: str, path: Path = SET_PATH) -> List[Labelled]:
    """The messages of one part ("development" or "held_out"), spans located in text order."""
    if part not in PARTS:
        raise ValueError(f"unknown part {part!r}; expected one of {PARTS}")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    result = []
    for index, item in enumerate(data[part]):
        text, spans, cursor = item["text"], [], 0
        for span in item.get("spans") or []:
            start = text.find(span["text"], cursor)
            if start < 0:
                raise ValueError(f"{path}: {part} entry {index}: span {span['text']!r} is not in {text!r}")
            cursor = start + len(span["text"])
            spans.append((span["kind"], start, cursor))
        result.append(Labelled(text, tuple(spans)))
    return result


def _hidden(text: str, start: int, end: int, covered: Sequence[bool]) -> bool:
    """Every character of text[start:end] but spaces and punctuation is covered."""
    return all(
        covered[i] for i in range(start, end)
        if not (text[i].isspace() or unicodedata.category(text[i]).startswith(("P", "S")))
    )


def score(
    items: Iterable[Labelled], find: Callable[[str], Iterable]
) -> Tuple[Dict[str, Tally], List[Tuple[str, str, str]]]:
    """Tallies per kind (and "all") of `find` (analytics.masking.find_personal_data) on the items, and the
    mistakes as (what, kind, text): ("missed", kind, span text) or ("wrong", kind, span text)."""
    tallies: Dict[str, Tally] = defaultdict(Tally)
    mistakes: List[Tuple[str, str, str]] = []
    for item in items:
        predicted = [(SET_KIND.get(s.kind, s.kind), s.start, s.end) for s in find(item.text)]
        covered = [False] * len(item.text)
        for _, start, end in predicted:
            for i in range(start, end):
                covered[i] = True
        for kind, start, end in item.spans:
            found = _hidden(item.text, start, end, covered)
            for key in (kind, "all"):
                tallies[key].labelled += 1
                tallies[key].found += found
            if not found:
                mistakes.append(("missed", kind, f"{item.text[start:end]}  ← {item.text}"))
        for kind, start, end in predicted:
            right = any(start < e and s < end for _, s, e in item.spans)
            for key in (kind, "all"):
                tallies[key].predicted += 1
                tallies[key].right += right
            if not right:
                mistakes.append(("wrong", kind, f"{item.text[start:end]}  ← {item.text}"))
    return dict(tallies), mistakes
