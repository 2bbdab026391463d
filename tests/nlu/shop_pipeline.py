"""The parts of config.yml's pipeline that the Rasa speed-up tests train small copies of."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List

import yaml
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu_components.shop_tokenizer import ShopJiebaTokenizer

ROOT = Path(__file__).resolve().parents[2]


def component_settings(name: str) -> List[Dict[str, Any]]:
    """Every config.yml pipeline entry of component `name`, in pipeline order, without the name."""
    pipeline = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))["pipeline"]
    return [{k: v for k, v in c.items() if k != "name"} for c in pipeline if c["name"] == name]


class TokenizedExamples:
    """A model storage, the shop tokenizer, and `examples` ({intent: texts}) tokenized as training data."""

    def __init__(self, tmp_path: Path, examples: Dict[str, List[str]]) -> None:
        self.storage = LocalModelStorage(tmp_path)
        self.context = ExecutionContext(GraphSchema({}), "test")
        self.tokenizer = ShopJiebaTokenizer.create(
            {**ShopJiebaTokenizer.get_default_config(), "dictionary_path": str(ROOT / "jieba_dict")},
            self.storage, Resource("tokenizer"), self.context,
        )
        self.data = TrainingData([
            Message({TEXT: text, INTENT: intent}) for intent, texts in examples.items() for text in texts
        ])
        self.tokenizer.process_training_data(self.data)
