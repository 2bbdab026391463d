"""CountVectorsFeaturizer's features counted without CountVectorizer.transform (bot/rasa_count_vectors.py)
are Rasa's own: the same COO matrices (shape, dtype, row, col, data and scipy's attributes), sequence and
sentence, for config.yml's two featurizers trained here on Chinese examples through the shop tokenizer,
both as trained and as loaded from storage (as the Rasa server loads them). Settings that change what
transform gives (binary counts, an OOV token, a shared vocabulary) give Rasa's features too, and what the
fast path does not cover goes through Rasa's own code."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Dict, List

import pytest
import scipy.sparse
from rasa.engine.storage.resource import Resource
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.shared.nlu.constants import INTENT, RESPONSE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import CountVectorizer

from bot import rasa_count_vectors
from tests.nlu.shop_pipeline import TokenizedExamples, component_settings

EXAMPLES = {
    "greet": ["你好", "您好在吗", "在吗", "哈喽", "有人吗", "hello", "hi 在吗"],
    "refund": [
        "怎么退款", "退款多久到账", "钱什么时候退回来", "我要退货退款", "退款是原路返回吗", "七天无理由可以退吗",
    ],
    "shipping": [
        "什么时候发货", "快递到哪了", "物流怎么不动了", "能发顺丰吗", "订单123456到哪了", "iPhone 15 发货了吗",
    ],
    "complaint": ["你们服务太差了", "我要投诉", "客服态度很差", "东西坏了没人管", "扫地机器人坏了!!!"],
}
# seen and unknown words, repeated tokens, punctuation, Latin and digits, emoji, traditional and
# full-width characters, a long message, and no text at all
PROBES = [text for texts in EXAMPLES.values() for text in texts] + [
    "退款", "退款退款退款", "好好好好好好", "你好你好，在吗在吗？", "我想问一下", "咋整", "龘靐齉", "asdf qwer",
    "ASDF Hello HELLO", "123456", "订单 987654321 和 12", "3.5元", "iphone15", "。", "？？？", "!!!", "退款!!!",
    "🙂", "退款🙂🙂", "👍👍 好的", "退貨怎麼申請", "ＯＫ　退款", "扫地机器人什么时候发货，我等了三天了，物流一直不动，"
    "客服也不回，我要投诉！！！订单号 20240101", "", " ", "\n",
]


def _featurizer_settings() -> List[Dict[str, Any]]:
    """config.yml's CountVectorsFeaturizer settings, in pipeline order."""
    settings = component_settings("CountVectorsFeaturizer")
    assert [s.get("alias") for s in settings] == ["words", "char_ngrams"]
    return settings


class Pipeline(TokenizedExamples):
    """The shop tokenizer and CountVectorsFeaturizers trained on EXAMPLES."""

    def __init__(self, tmp_path: Path) -> None:
        super().__init__(tmp_path, EXAMPLES)

    def train(self, name: str, **settings: Any) -> CountVectorsFeaturizer:
        config = {**CountVectorsFeaturizer.get_default_config(), **settings}
        featurizer = CountVectorsFeaturizer.create(config, self.storage, Resource(name), self.context)
        featurizer.train(self.data)
        return featurizer

    def load(self, trained: CountVectorsFeaturizer, name: str) -> CountVectorsFeaturizer:
        return CountVectorsFeaturizer.load(trained._config, self.storage, Resource(name), self.context)

    def tokenized(self, texts: List[str]) -> List[Message]:
        return self.tokenizer.process([Message({TEXT: t}) for t in texts])


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory) -> Pipeline:
    return Pipeline(tmp_path_factory.mktemp("count_vectors"))


@pytest.fixture(scope="module")
def shop_featurizers(pipeline) -> Dict[str, List[CountVectorsFeaturizer]]:
    """config.yml's two featurizers, as trained and as loaded from storage."""
    trained = [pipeline.train(s["alias"], **s) for s in _featurizer_settings()]
    return {"trained": trained, "loaded": [pipeline.load(f, f._config["alias"]) for f in trained]}


@pytest.fixture
def transform_calls(monkeypatch) -> List[int]:
    """Counts CountVectorizer.transform calls."""
    calls: List[int] = []
    original = CountVectorizer.transform
    monkeypatch.setattr(CountVectorizer, "transform", lambda self, docs: calls.append(1) or original(self, docs))
    return calls


def _features(featurizers: List[CountVectorsFeaturizer], messages: List[Message], fast: bool,
              monkeypatch) -> List[List[Features]]:
    """The featurizers' `process` on copies of the messages, with or without the fast path installed."""
    with monkeypatch.context() as patch:
        patch.setattr(CountVectorsFeaturizer, "_create_features", rasa_count_vectors._original_create_features)
        if fast:
            rasa_count_vectors.install()
        copies = [Message(data=dict(m.data), features=list(m.features)) for m in messages]
        for featurizer in featurizers:
            copies = featurizer.process(copies)
        return [m.features for m in copies]


def _assert_same_matrix(got: Any, expected: Any, where: str) -> None:
    assert type(got) is type(expected) is scipy.sparse.coo_matrix, where
    assert got.shape == expected.shape and type(got.shape[0]) is type(expected.shape[0]), where
    assert got.dtype == expected.dtype, where
    for name in ("row", "col", "data"):
        mine, theirs = getattr(got, name), getattr(expected, name)
        assert mine.dtype == theirs.dtype, f"{where}: {name}"
        assert mine.tolist() == theirs.tolist(), f"{where}: {name}"
        assert mine.flags.owndata and mine.flags.writeable, f"{where}: {name}"
    assert got.__dict__.keys() == expected.__dict__.keys(), where
    assert got.has_canonical_format == expected.has_canonical_format, where
    assert got.maxprint == expected.maxprint, where


def _assert_same_features(got: List[List[Features]], expected: List[List[Features]], texts: List[str]) -> int:
    """Asserts the same features message by message; returns how many feature matrices were compared."""
    compared = 0
    for text, mine, theirs in zip(texts, got, expected, strict=True):
        kinds = [(f.type, f.attribute, f.origin) for f in theirs]
        assert [(f.type, f.attribute, f.origin) for f in mine] == kinds, text
        for a, b in zip(mine, theirs, strict=True):
            _assert_same_matrix(a.features, b.features, f"{text!r} {b.origin} {b.type} {b.attribute}")
            compared += 1
    return compared


@pytest.mark.parametrize("which", ["trained", "loaded"])
def test_shop_featurizers_give_rasas_features(which, pipeline, shop_featurizers, transform_calls, monkeypatch):
    featurizers = shop_featurizers[which]
    messages = pipeline.tokenized(PROBES)
    expected = _features(featurizers, messages, fast=False, monkeypatch=monkeypatch)
    assert transform_calls, "Rasa's own path should call transform"
    transform_calls.clear()
    # twice: the second time each token's row comes from what the first time counted
    for _ in range(2):
        got = _features(featurizers, messages, fast=True, monkeypatch=monkeypatch)
        compared = _assert_same_features(got, expected, PROBES)
    assert not transform_calls, "the fast path should not call CountVectorizer.transform"
    # sequence and sentence features of both featurizers for every message with tokens
    assert compared >= 4 * (len(PROBES) - 3)
    assert any(f.features.nnz == 0 for features in expected for f in features), "an all-unknown message"
    assert any(f.features.data.max(initial=0) > 1 for features in expected for f in features), "a repeat"


def test_training_data_gets_rasas_features_intents_included(pipeline, shop_featurizers, monkeypatch):
    featurizers = shop_featurizers["trained"]
    examples = pipeline.data.training_examples
    texts = [m.get(TEXT) for m in examples]
    expected = _features(featurizers, examples, fast=False, monkeypatch=monkeypatch)
    got = _features(featurizers, examples, fast=True, monkeypatch=monkeypatch)
    _assert_same_features(got, expected, texts)
    assert any(f.attribute == INTENT for f in got[0]), "the word featurizer also featurizes intents"


@pytest.mark.parametrize("settings", [
    {"alias": "oov", "OOV_token": "oov", "OOV_words": ["哈", "喽", "有人"]},
    {"alias": "shared", "use_shared_vocab": True},
    {"alias": "bigrams", "min_ngram": 1, "max_ngram": 2},
    {"alias": "char_wb", "analyzer": "char_wb", "min_ngram": 2, "max_ngram": 4},
    {"alias": "cased", "lowercase": False, "analyzer": "char", "max_ngram": 2},
    {"alias": "min_df", "min_df": 2, "max_features": 30},
], ids=lambda s: s["alias"])
def test_other_settings_give_rasas_features(settings, pipeline, transform_calls, monkeypatch):
    featurizer = pipeline.train(settings["alias"], **settings)
    if "OOV_token" in settings:  # unknown words are read as the OOV token, which has a column
        assert settings["OOV_token"] in featurizer.vectorizers[TEXT].vocabulary_
    for candidate in (featurizer, pipeline.load(featurizer, settings["alias"])):
        messages = pipeline.tokenized(PROBES)
        expected = _features([candidate], messages, fast=False, monkeypatch=monkeypatch)
        transform_calls.clear()
        got = _features([candidate], messages, fast=True, monkeypatch=monkeypatch)
        assert not transform_calls
        _assert_same_features(got, expected, PROBES)


def test_binary_counts_give_rasas_features(pipeline, shop_featurizers, monkeypatch):
    words = copy.deepcopy(shop_featurizers["loaded"][0])
    words.vectorizers[TEXT].binary = True
    messages = pipeline.tokenized(PROBES)
    expected = _features([words], messages, fast=False, monkeypatch=monkeypatch)
    got = _features([words], messages, fast=True, monkeypatch=monkeypatch)
    _assert_same_features(got, expected, PROBES)
    assert all(f.features.data.max(initial=1) == 1 for features in got for f in features)


def test_a_replaced_vocabulary_or_setting_is_read_anew(pipeline, shop_featurizers, monkeypatch):
    chars = copy.deepcopy(shop_featurizers["trained"][1])
    messages = pipeline.tokenized(PROBES)
    _features([chars], messages, fast=True, monkeypatch=monkeypatch)  # counts and remembers with the old ones
    vectorizer = chars.vectorizers[TEXT]
    kept_terms = sorted(vectorizer.vocabulary_)[::3]
    vectorizer.vocabulary_ = {term: index for index, term in enumerate(reversed(kept_terms))}
    vectorizer.set_params(ngram_range=(2, 2), lowercase=False)
    expected = _features([chars], messages, fast=False, monkeypatch=monkeypatch)
    got = _features([chars], messages, fast=True, monkeypatch=monkeypatch)
    _assert_same_features(got, expected, PROBES)
    assert got[0][0].features.shape[1] == len(kept_terms)


def test_an_unfitted_vectorizer_fails_as_in_rasa(shop_featurizers, monkeypatch):
    words = shop_featurizers["trained"][0]
    # no training example has a response: its vectorizer was made but never fitted
    assert "vocabulary_" not in words.vectorizers[RESPONSE].__dict__
    with pytest.raises(NotFittedError):
        rasa_count_vectors._original_create_features(words, RESPONSE, [["你好"]])
    with pytest.raises(NotFittedError):
        rasa_count_vectors.create_features(words, RESPONSE, [["你好"]])
    assert rasa_count_vectors.create_features(words, RESPONSE, [[]]) == ([None], [None])


def test_a_vectorizer_subclass_keeps_rasas_path(shop_featurizers, transform_calls):
    class OwnVectorizer(CountVectorizer):
        pass

    words = copy.deepcopy(shop_featurizers["trained"][0])
    own = OwnVectorizer(**words.vectorizers[TEXT].get_params())
    own.vocabulary_ = words.vectorizers[TEXT].vocabulary_
    words.vectorizers[TEXT] = own
    expected = rasa_count_vectors._original_create_features(words, TEXT, [["你好", "退款"]])
    transform_calls.clear()
    got = rasa_count_vectors.create_features(words, TEXT, [["你好", "退款"]])
    assert len(transform_calls) == 2
    for mine, theirs in zip([*got[0], *got[1]], [*expected[0], *expected[1]], strict=True):
        _assert_same_matrix(mine, theirs, "subclass")
