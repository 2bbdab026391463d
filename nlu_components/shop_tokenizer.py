"""Rasa's JiebaTokenizer on a folded copy of the text: 繁體 and full-width input tokenize like simplified.

Customers write 退貨, ＯＫ or IPHONE; the training data is mostly simplified and
lower case. Folding each character keeps the text's length, so token offsets
(and the entities found on the original text) stay right.
"""

from __future__ import annotations

from typing import List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.training_data.message import Message

from knowledge.text import normalize_chars


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class ShopJiebaTokenizer(JiebaTokenizer):
    """JiebaTokenizer (with the shop dictionary) over simplified, half-width, lower-case text."""

    def tokenize(self, message: Message, attribute: str) -> List[Token]:
        """Tokens with the folded word as text and offsets into the original message."""
        import jieba

        folded = normalize_chars(message.get(attribute))
        tokens = [Token(word, start) for word, start, _ in jieba.tokenize(folded) if word.strip()]
        return self._apply_token_pattern(tokens)
