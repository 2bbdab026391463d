"""A reproducible held-out split of labelled examples, stratified by label."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

SEED = 42


@dataclass(frozen=True)
class Example:
    """One text and its full label (`faq/<key>` or a plain intent)."""

    text: str
    label: str


def full_label(message: Message) -> str:
    """The retrieval key if there is one, else the intent."""
    return message.get("intent_response_key") or message.get("intent")


def split_labels(
    labels: Sequence[str], test_fraction: float, seed: int = SEED
) -> Tuple[List[int], List[int]]:
    """Indices for train and test: per label, a fixed-seed shuffle, at least one example on each side."""
    by_label: Dict[str, List[int]] = defaultdict(list)
    for index, label in enumerate(labels):
        by_label[label].append(index)
    rng = random.Random(seed)
    train, test = [], []
    for label in sorted(by_label):
        indices = by_label[label]
        rng.shuffle(indices)
        n_test = max(1, round(len(indices) * test_fraction)) if len(indices) > 1 else 0
        test.extend(indices[:n_test])
        train.extend(indices[n_test:])
    return sorted(train), sorted(test)


def split_training_data(
    data: TrainingData, test_fraction: float = 0.2, seed: int = SEED
) -> Tuple[TrainingData, List[Example]]:
    """Training data without the held-out examples (lookups and regexes kept), and the held-out examples.

    A text that occurs under several labels, or twice, stays on one side only.
    """
    examples = [m for m in data.intent_examples if m.get("text")]
    labels = [full_label(m) for m in examples]
    train_idx, test_idx = split_labels(labels, test_fraction, seed)
    train_texts = {examples[i].get("text") for i in train_idx}
    held_out = [
        Example(examples[i].get("text"), labels[i])
        for i in test_idx
        if examples[i].get("text") not in train_texts
    ]
    train = TrainingData(
        training_examples=[examples[i] for i in train_idx],
        entity_synonyms=data.entity_synonyms,
        regex_features=data.regex_features,
        lookup_tables=data.lookup_tables,
    )
    return train, held_out
