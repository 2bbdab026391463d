"""Rasa's JiebaTokenizer on a folded copy of the text, keeping only the words of the message's core.

Customers write 退貨, ＯＫ or IPHONE; the training data is mostly simplified and
lower case. Folding each character keeps the text's length, so token offsets
(and the entities found on the original text) stay right.

Before tokenizing, the message's shape is read (customer_text): a pasted order
card, a product link, the chat page's own texts and the greetings around a
question ("在吗 我的订单怎么还没发货") are set aside, so only the question is
featurized and classified. The shape goes into the parse data as `shop_message`
for the actions (the card's order number, the menu topic).
"""

from __future__ import annotations

from typing import Any, Dict, List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from customer_text import read_message
from knowledge.text import normalize_chars

SHOP_MESSAGE = "shop_message"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class ShopJiebaTokenizer(JiebaTokenizer):
    """JiebaTokenizer (with the shop dictionary) over simplified, half-width, lower-case text."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """JiebaTokenizer's settings, plus `set_aside`: whether cards, page texts and pleasantries are
        left out of the tokens (the shape is read and reported either way)."""
        return {**JiebaTokenizer.get_default_config(), "set_aside": True}

    def tokenize(self, message: Message, attribute: str) -> List[Token]:
        """Tokens of the core with the folded word as text and offsets into the original message."""
        import jieba

        text = message.get(attribute)
        folded = normalize_chars(text)
        tokens = [Token(word, start) for word, start, _ in jieba.tokenize(folded) if word.strip()]
        if attribute == TEXT:
            shape = read_message(text)
            message.set(SHOP_MESSAGE, shape.to_dict(), add_to_output=True)
            if shape.core and self._config.get("set_aside", True):
                # a link's words stay: unseen in training they are ignored, and where a link is the point
                # of the message ("打开 www.example.com") they are what tells its intent
                spans = [*shape.core, *((c.start, c.end) for c in shape.cards if c.kind == "link")]
                kept = [t for t in tokens if any(s <= t.start < e for s, e in spans)]
                tokens = kept or tokens
        return self._apply_token_pattern(tokens)
