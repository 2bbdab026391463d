"""A reproducible held-out split of labelled examples, stratified by label."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
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


# training files written in real customers' style (data/nlu/real_*.yml) are split on their own, so the
# project's own held-out split of its paraphrases stays the one earlier figures were measured on
REAL_STYLE_PREFIX = "real_"


@dataclass(frozen=True)
class ProjectSplit:
    """Training data from both groups of files, and each group's held-out examples."""

    train: TrainingData
    paraphrases: List[Example]
    real_style: List[Example]


def load_group(nlu_dir: Path, real_style: bool) -> TrainingData:
    """The NLU files of one group, merged."""
    from rasa.shared.nlu.training_data.loading import load_data

    files = [f for f in sorted(Path(nlu_dir).glob("*.yml")) if f.name.startswith(REAL_STYLE_PREFIX) == real_style]
    return TrainingData().merge(*(load_data(str(f)) for f in files))


def split_project_data(nlu_dir: Path, test_fraction: float = 0.2, seed: int = SEED) -> ProjectSplit:
    """Each group split as `split_training_data` splits it; training on the union of both training parts."""
    train_a, held_a = split_training_data(load_group(nlu_dir, real_style=False), test_fraction, seed)
    train_b, held_b = split_training_data(load_group(nlu_dir, real_style=True), test_fraction, seed)
    train = train_a.merge(train_b)
    train_texts = {m.get("text") for m in train.intent_examples}
    return ProjectSplit(
        train,
        [e for e in held_a if e.text not in train_texts],
        [e for e in held_b if e.text not in train_texts],
    )
