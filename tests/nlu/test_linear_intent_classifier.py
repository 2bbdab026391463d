"""The sparse linear intent classifier as a Rasa graph component: training, confidences, persistence."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import (
    FEATURE_TYPE_SENTENCE,
    INTENT,
    INTENT_RESPONSE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu_components.linear_intent_classifier import LinearIntentClassifier

# three labels, each recognisable by its own feature column (plus noise columns)
LABELS = ["faq/refund_time", "faq/refund_route", "greet"]


def _message(label: str, rng: np.random.Generator, with_label: bool = True) -> Message:
    row = rng.integers(0, 2, size=12).astype(float)
    row[LABELS.index(label)] = 3.0
    data = {TEXT: label}
    if with_label:
        base, _, _ = label.partition("/")
        data[INTENT] = base
        if "/" in label:
            data[INTENT_RESPONSE_KEY] = label
    message = Message(data=data)
    message.add_features(Features(sp.coo_matrix(row), FEATURE_TYPE_SENTENCE, TEXT, "test"))
    return message


@pytest.fixture
def trained(tmp_path):
    storage = LocalModelStorage(tmp_path)
    resource = Resource("linear")
    context = ExecutionContext(GraphSchema({}), "test")
    classifier = LinearIntentClassifier.create({}, storage, resource, context)
    rng = np.random.default_rng(0)
    examples = [_message(label, rng) for label in LABELS for _ in range(10)]
    classifier.train(TrainingData(training_examples=examples))
    return classifier, storage, resource, context


def test_full_retrieval_keys_are_predicted_with_probabilities(trained):
    classifier, *_ = trained
    rng = np.random.default_rng(1)
    for label in LABELS:
        [message] = classifier.process([_message(label, rng, with_label=False)])
        ranking = message.get("intent_ranking")
        top = ranking[0]
        assert (top.get(INTENT_RESPONSE_KEY) or top["name"]) == label
        assert sum(r["confidence"] for r in ranking) == pytest.approx(1.0)
        if "/" in label:
            selected = message.get("response_selector")["faq"]["response"]
            assert selected[INTENT_RESPONSE_KEY] == label


def test_the_softmax_temperature_is_fitted_not_left_at_one(trained):
    classifier, *_ = trained
    assert classifier.temperature > 0 and classifier.temperature != pytest.approx(1.0)


def test_a_loaded_model_predicts_what_the_trained_one_did(trained):
    classifier, storage, resource, context = trained
    loaded = LinearIntentClassifier.load({}, storage, resource, context)
    rng = np.random.default_rng(2)
    probe = [_message(label, rng, with_label=False) for label in LABELS]
    before = [m.get("intent_ranking") for m in classifier.process(probe)]
    after = [m.get("intent_ranking") for m in loaded.process(probe)]
    assert before == after
    assert loaded.temperature == pytest.approx(classifier.temperature)


def test_one_message_path_gives_the_matrix_paths_probabilities(trained):
    classifier, *_ = trained
    rng = np.random.default_rng(3)
    probes = [_message(label, rng, with_label=False) for label in LABELS for _ in range(5)]
    # a row with a column repeated (COO keeps duplicates until they are summed) and a row with no features
    repeated = Message(data={TEXT: "repeated"})
    repeated.add_features(Features(sp.coo_matrix(([1.0, 2.0, 1.0], ([0, 0, 0], [4, 1, 4])), shape=(1, 12)),
                                   FEATURE_TYPE_SENTENCE, TEXT, "test"))
    empty = Message(data={TEXT: "empty"})
    empty.add_features(Features(sp.coo_matrix((1, 12)), FEATURE_TYPE_SENTENCE, TEXT, "test"))
    # two featurizers' rows (as words and character n-grams give), joined side by side
    two = Message(data={TEXT: "two featurizers"})
    two.add_features(Features(sp.coo_matrix(([2.0, 1.0], ([0, 0], [0, 6])), shape=(1, 7)),
                              FEATURE_TYPE_SENTENCE, TEXT, "words"))
    two.add_features(Features(sp.coo_matrix(([1.0, 3.0], ([0, 0], [1, 4])), shape=(1, 5)),
                              FEATURE_TYPE_SENTENCE, TEXT, "chars"))
    probes += [repeated, empty, two]
    matrix = classifier._probabilities(classifier._weighted(classifier._raw_features(probes)))
    one_by_one = np.vstack([classifier._message_probabilities(message) for message in probes])
    np.testing.assert_allclose(one_by_one, matrix, rtol=1e-12, atol=1e-15)
    # and the two process paths rank alike
    with_support = LinearIntentClassifier({**classifier.config, "support": True}, None, None,
                                          labels=classifier.labels, idf=classifier.idf, coef=classifier.coef,
                                          intercept=classifier.intercept, temperature=classifier.temperature)
    without = LinearIntentClassifier({**classifier.config, "support": False}, None, None,
                                     labels=classifier.labels, idf=classifier.idf, coef=classifier.coef,
                                     intercept=classifier.intercept, temperature=classifier.temperature)
    for message in probes:
        assert [r["name"] for r in without.process([message])[0].get("intent_ranking")] == \
            [r["name"] for r in with_support.process([message])[0].get("intent_ranking")]
