"""DIET's intent prediction in numpy (bot/rasa_diet_inference.py) gives Rasa's own TensorFlow result: the
same scores, intent and ranking, for a tiny DIET trained here with config.yml's DIET settings, both as
trained and as loaded from storage (as the Rasa server loads it). Configurations it does not cover keep
Rasa's path."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Dict, List

import numpy as np
import pytest
from rasa.engine.storage.resource import Resource
from rasa.nlu.classifiers.diet_classifier import DIETClassifier
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.shared.constants import DIAGNOSTIC_DATA
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.utils.common import override_defaults

from bot import rasa_diet_inference
from tests.nlu.shop_pipeline import TokenizedExamples, component_settings

EXAMPLES = {
    "greet": ["你好", "您好在吗", "在吗", "哈喽", "有人吗"],
    "goodbye": ["再见", "拜拜", "先这样吧", "没事了谢谢"],
    "refund": ["怎么退款", "退款多久到账", "钱什么时候退回来", "我要退货退款", "退款是原路返回吗"],
    "shipping": ["什么时候发货", "快递到哪了", "物流怎么不动了", "能发顺丰吗"],
    "complaint": ["你们服务太差了", "我要投诉", "客服态度很差", "东西坏了没人管"],
}
# seen, unseen, unknown words only, punctuation, other scripts, and no text at all
PROBES = [text for texts in EXAMPLES.values() for text in texts] + [
    "退款", "发货了吗", "你好我要退款", "投诉快递", "再见退款发货", "扫地机器人什么时候发货",
    "我想问一下", "咋整", "龘靐齉", "asdf qwer", "123456", "。", "？？？", "🙂", "退貨怎麼申請", "", " ",
]


def _diet_settings() -> Dict[str, Any]:
    """config.yml's DIET settings (on this little data one batch per epoch: seconds to train)."""
    [settings] = component_settings("DIETClassifier")
    return settings


class Pipeline(TokenizedExamples):
    """The shop tokenizer and the `words` featurizer, trained on EXAMPLES, and DIETs trained on them."""

    def __init__(self, tmp_path: Path) -> None:
        super().__init__(tmp_path, EXAMPLES)
        self.featurizer = CountVectorsFeaturizer.create(
            {**CountVectorsFeaturizer.get_default_config(), "alias": "words"},
            self.storage, Resource("words"), self.context,
        )
        self.featurizer.train(self.data)
        self.featurizer.process_training_data(self.data)

    def featurized(self, texts: List[str]) -> List[Message]:
        return self.featurizer.process(self.tokenizer.process([Message({TEXT: t}) for t in texts]))

    def train_diet(self, name: str, **overrides: Any) -> DIETClassifier:
        # merged as Rasa's graph merges a component's config into its defaults (nested dicts too)
        config = override_defaults(DIETClassifier.get_default_config(), {**_diet_settings(), **overrides})
        diet = DIETClassifier.create(config, self.storage, Resource(name), self.context)
        diet.train(self.data)
        return diet

    def load_diet(self, trained: DIETClassifier, name: str) -> DIETClassifier:
        return DIETClassifier.load(trained.component_config, self.storage, Resource(name), self.context)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory) -> Pipeline:
    return Pipeline(tmp_path_factory.mktemp("diet"))


@pytest.fixture(scope="module")
def trained(pipeline) -> DIETClassifier:
    return pipeline.train_diet("diet")


@pytest.fixture(scope="module")
def loaded(pipeline, trained) -> DIETClassifier:
    return pipeline.load_diet(trained, "diet")


def _process(diet: DIETClassifier, messages: List[Message], numpy_path: bool, monkeypatch) -> List[Message]:
    """DIET's `process` on copies of the messages, with or without the numpy path installed."""
    with monkeypatch.context() as patch:
        patch.setattr(DIETClassifier, "_predict", rasa_diet_inference._original_predict)
        if numpy_path:
            rasa_diet_inference.install()
        copies = [Message(data=dict(m.data), features=list(m.features)) for m in messages]
        return diet.process(copies)


def _assert_same_predictions(diet, pipeline, monkeypatch) -> None:
    messages = pipeline.featurized(PROBES)
    rasa = _process(diet, messages, numpy_path=False, monkeypatch=monkeypatch)
    ours = _process(diet, messages, numpy_path=True, monkeypatch=monkeypatch)
    for text, theirs, mine in zip(PROBES, rasa, ours, strict=True):
        expected, got = theirs.get("intent_ranking"), mine.get("intent_ranking")
        assert [r["name"] for r in got] == [r["name"] for r in expected], text
        np.testing.assert_allclose(
            [r["confidence"] for r in got], [r["confidence"] for r in expected], rtol=1e-4, atol=1e-7,
            err_msg=text,
        )
        assert mine.get(INTENT)["name"] == theirs.get(INTENT)["name"], text
        assert mine.get(INTENT)["confidence"] == pytest.approx(theirs.get(INTENT)["confidence"], rel=1e-4)


@pytest.mark.parametrize("which", ["trained", "loaded"])
def test_numpy_scores_equal_rasa_scores(which, request, pipeline):
    diet = request.getfixturevalue(which)
    assert rasa_diet_inference.numpy_forward(diet) is not None, "config.yml's DIET should be supported"
    for text, message in zip(PROBES, pipeline.featurized(PROBES), strict=True):
        expected = rasa_diet_inference._original_predict(diet, message)
        got = rasa_diet_inference.predict_with_numpy(diet, message)
        if expected is None:  # no features at all: Rasa predicts nothing
            assert got is None, text
            continue
        assert got["i_scores"].shape == expected["i_scores"].shape
        assert got["i_scores"].dtype == expected["i_scores"].dtype
        np.testing.assert_allclose(got["i_scores"], expected["i_scores"], rtol=1e-4, atol=1e-7, err_msg=text)


@pytest.mark.parametrize("which", ["trained", "loaded"])
def test_process_gives_rasas_intent_and_ranking(which, request, pipeline, monkeypatch):
    diet = request.getfixturevalue(which)
    _assert_same_predictions(diet, pipeline, monkeypatch)


def test_the_empty_text_gets_no_intent_as_in_rasa(loaded, pipeline, monkeypatch):
    [message] = _process(loaded, pipeline.featurized([""]), numpy_path=True, monkeypatch=monkeypatch)
    assert message.get(INTENT) == {"name": None, "confidence": 0.0}
    assert message.get("intent_ranking") == []


def test_the_numpy_path_does_not_call_tensorflow(loaded, pipeline, monkeypatch):
    rasa_diet_inference.numpy_forward(loaded)  # the weights are read once, on first use

    def no_tensorflow(*args, **kwargs):
        raise AssertionError("Rasa's TensorFlow inference ran")

    monkeypatch.setattr(loaded.model, "run_inference", no_tensorflow)
    [message] = _process(loaded, pipeline.featurized(["怎么退款"]), numpy_path=True, monkeypatch=monkeypatch)
    assert message.get(INTENT)["name"] == message.get("intent_ranking")[0]["name"]


def test_diagnostic_data_requests_keep_rasas_path(loaded, pipeline, monkeypatch):
    context = dataclasses.replace(loaded._execution_context, should_add_diagnostic_data=True)
    monkeypatch.setattr(loaded, "_execution_context", context)
    [message] = _process(loaded, pipeline.featurized(["怎么退款"]), numpy_path=True, monkeypatch=monkeypatch)
    diagnostic = message.get(DIAGNOSTIC_DATA)[context.node_name]
    assert "text_transformed" in diagnostic


def test_a_transformer_layer_keeps_rasas_path(pipeline, monkeypatch):
    diet = pipeline.train_diet(
        "diet_transformer", number_of_transformer_layers=1, transformer_size=16, epochs=1,
    )
    assert rasa_diet_inference.numpy_forward(diet) is None
    calls = []
    original = rasa_diet_inference._original_predict
    monkeypatch.setattr(rasa_diet_inference, "_original_predict",
                        lambda self, message: calls.append(message) or original(self, message))
    _assert_same_predictions(diet, pipeline, monkeypatch)
    assert len(calls) == 2 * len(PROBES), "each message should have gone through Rasa's own path"
