"""The shop tokenizer (jieba on folded text) with the shop dictionary keeps shop terms whole."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from nlu_components.shop_tokenizer import ShopJiebaTokenizer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory) -> ShopJiebaTokenizer:
    config = {**ShopJiebaTokenizer.get_default_config(), "dictionary_path": str(ROOT / "jieba_dict")}
    return ShopJiebaTokenizer.create(
        config,
        LocalModelStorage(tmp_path_factory.mktemp("storage")),
        Resource("tokenizer"),
        ExecutionContext(GraphSchema({}), "test"),
    )


@pytest.mark.parametrize(
    "text, term",
    [
        ("支持七天无理由退货吗", "七天无理由退货"), ("拆封了还能七天无理由吗", "七天无理由"),
        ("退款是原路返回吗", "原路返回"),
        ("能不能上门取件", "上门取件"),
        ("电子发票在哪里下载", "电子发票"),
        ("价保怎么申请", "价保"),
        ("我想买个扫地机器人", "扫地机器人"),
        ("云朵优品是正品吗", "云朵优品"),
        ("我要转人工", "转人工"),
    ],
)
def test_shop_terms_stay_whole(tokenizer, text, term):
    tokens = [t.text for t in tokenizer.tokenize(Message({TEXT: text}), TEXT)]
    assert term in tokens, tokens


def test_traditional_and_full_width_text_tokenizes_like_simplified(tokenizer):
    message = Message({TEXT: "請問退貨怎麼申請？ＩＰＨＯＮＥ"})
    tokens = tokenizer.tokenize(message, TEXT)
    assert [t.text for t in tokens][:3] == ["请问", "退货", "怎么"]
    # offsets still point into the original text
    assert message.get(TEXT)[tokens[1].start : tokens[1].end] == "退貨"
    assert tokens[-1].text == "iphone"
