"""NLU quality on held-out splits of the project's own data, with the real Rasa pipeline.

Two splits with a fixed seed, trained together from config.yml inside the test run: the
paraphrase files (the split earlier figures were measured on) and the real-style files
(data/nlu/real_*.yml). Every held-out text is kept out of training.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluation.metrics import score
from evaluation.rasa_nlu import classifier_label, parse_all, train_nlu
from evaluation.split import split_project_data
from knowledge.loader import load_knowledge_base

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def held_out_run(tmp_path_factory):
    split = split_project_data(ROOT / "data" / "nlu", test_fraction=0.2)
    trained = train_nlu(split.train, tmp_path_factory.mktemp("nlu"))
    held_out = split.paraphrases + split.real_style
    parses = parse_all(trained.model_path, [e.text for e in held_out])
    return split, dict(zip([e.text for e in held_out], parses, strict=True))


@pytest.mark.slow
def test_held_out_texts_never_appear_in_training(held_out_run):
    split, _ = held_out_run
    train_texts = {m.get("text") for m in split.train.intent_examples}
    # the knowledge-base importer adds each entry's question and paraphrases to training too
    kb = load_knowledge_base(ROOT / "data" / "kb")
    kb_texts = {text for entry in kb for text in entry.texts()}
    held_out = {e.text for e in split.paraphrases + split.real_style}
    assert split.paraphrases and split.real_style and not (train_texts | kb_texts) & held_out
    assert len({e.label for e in split.paraphrases}) >= 120


def scored(examples, parses):
    """The classifier's scores on held-out examples, and a line saying them for a failing assertion."""
    scores = score([e.label for e in examples], [classifier_label(parses[e.text]) for e in examples])
    return scores, f"accuracy {scores.accuracy:.3f}, macro-F1 {scores.macro_f1:.3f}, worst {scores.worst[:5]}"


@pytest.mark.slow
def test_intent_accuracy_and_macro_f1_on_the_paraphrase_split(held_out_run):
    split, parses = held_out_run
    scores, report = scored(split.paraphrases, parses)
    assert scores.accuracy >= 0.90, report
    assert scores.macro_f1 >= 0.88, report


@pytest.mark.slow
def test_intent_accuracy_on_the_real_style_split(held_out_run):
    split, parses = held_out_run
    scores, report = scored(split.real_style, parses)
    # terse, typo-laden examples of 140 labels: well above chance, below the paraphrases
    assert scores.accuracy >= 0.75, report
