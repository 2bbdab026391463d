"""NLU quality on a held-out split of the project's own data, with the real Rasa pipeline.

The split uses a fixed seed and keeps every held-out text out of training;
the model is trained inside the test run from config.yml.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.shared.nlu.training_data.loading import load_data

from evaluation.metrics import score
from evaluation.rasa_nlu import classifier_label, parse_all, train_nlu
from evaluation.split import split_training_data
from knowledge.loader import load_knowledge_base

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def held_out_run(tmp_path_factory):
    data = load_data(str(ROOT / "data" / "nlu"))
    train, held_out = split_training_data(data, test_fraction=0.2)
    trained = train_nlu(train, tmp_path_factory.mktemp("nlu"))
    parses = parse_all(trained.model_path, [e.text for e in held_out])
    return train, held_out, parses


@pytest.mark.slow
def test_held_out_texts_never_appear_in_training(held_out_run):
    train, held_out, _ = held_out_run
    train_texts = {m.get("text") for m in train.intent_examples}
    # the knowledge-base importer adds each entry's question and paraphrases to training too
    kb = load_knowledge_base(ROOT / "data" / "kb")
    kb_texts = {text for entry in kb for text in entry.texts()}
    assert held_out and not (train_texts | kb_texts) & {e.text for e in held_out}
    assert len({e.label for e in held_out}) >= 120


@pytest.mark.slow
def test_intent_accuracy_and_macro_f1_on_held_out_split(held_out_run):
    _, held_out, parses = held_out_run
    scores = score([e.label for e in held_out], [classifier_label(p) for p in parses])
    report = f"accuracy {scores.accuracy:.3f}, macro-F1 {scores.macro_f1:.3f}, worst {scores.worst[:5]}"
    assert scores.accuracy >= 0.90, report
    assert scores.macro_f1 >= 0.88, report
