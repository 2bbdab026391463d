"""Accuracy, macro-F1 and the most confused labels, from gold and predicted labels."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import List, Sequence, Tuple


@dataclass(frozen=True)
class Scores:
    """What the benchmark and the quality test report."""

    accuracy: float
    macro_f1: float
    n: int
    worst: List[Tuple[str, float, int]]  # label, F1, support
    confusions: List[Tuple[str, str, int]]  # gold, predicted, count


def score(gold: Sequence[str], predicted: Sequence[str], worst: int = 8) -> Scores:
    """Macro-F1 over the gold labels (a label never predicted scores 0)."""
    assert len(gold) == len(predicted), "gold and predicted differ in length"
    labels = sorted(set(gold))
    pairs = Counter(zip(gold, predicted, strict=False))
    gold_count = Counter(gold)
    predicted_count = Counter(predicted)
    f1s = []
    for label in labels:
        tp = pairs[(label, label)]
        precision = tp / predicted_count[label] if predicted_count[label] else 0.0
        recall = tp / gold_count[label]
        f1s.append((label, 2 * precision * recall / (precision + recall) if tp else 0.0))
    correct = sum(pairs[(label, label)] for label in labels)
    confusions = sorted(
        ((g, p, c) for (g, p), c in pairs.items() if g != p), key=lambda x: -x[2]
    )
    return Scores(
        accuracy=correct / len(gold) if gold else 0.0,
        macro_f1=sum(f for _, f in f1s) / len(f1s) if f1s else 0.0,
        n=len(gold),
        worst=[(label, f, gold_count[label]) for label, f in sorted(f1s, key=lambda x: x[1])[:worst]],
        confusions=confusions[:worst],
    )
