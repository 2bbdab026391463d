"""Chinese text to search tokens: jieba words with the shop dictionary, plus character bigrams.

Bigrams make search forgiving of segmentation differences and of one wrong
character (发火 for 发货 still shares 发 and the bigrams around it).
"""

from __future__ import annotations

import threading
import unicodedata
from functools import cache, lru_cache
from pathlib import Path
from typing import List, Optional

import jieba
from opencc import OpenCC

_lock = threading.Lock()
_tokenizers: dict = {}


@cache
def _t2s() -> OpenCC:
    return OpenCC("t2s")


@lru_cache(maxsize=65536)
def _normalize_char(ch: str) -> str:
    folded = unicodedata.normalize("NFKC", ch).lower()
    if len(folded) != 1:
        return ch
    simplified = _t2s().convert(folded)
    return simplified if len(simplified) == 1 else folded


def normalize_chars(text: str) -> str:
    """Each character folded on its own: simplified Chinese (退貨 → 退货), half-width, lower case.

    The result has exactly the length of the input, so offsets into it are offsets
    into the original text (Rasa's tokens and entities rely on that).
    """
    return "".join(_normalize_char(ch) for ch in text)


def normalize(text: str) -> str:
    """`normalize_chars`, then whitespace collapsed."""
    return " ".join(normalize_chars(text).split())


def _is_word(token: str) -> bool:
    return any(ch.isalnum() for ch in token)


def jieba_tokenizer(dictionary_dir: Optional[Path]) -> jieba.Tokenizer:
    """A jieba tokenizer with every file in `dictionary_dir` loaded, built once per folder."""
    key = str(dictionary_dir) if dictionary_dir else ""
    with _lock:
        if key not in _tokenizers:
            jieba.setLogLevel(60)
            tokenizer = jieba.Tokenizer()
            if dictionary_dir:
                for file in sorted(Path(dictionary_dir).glob("*")):
                    if file.is_file():
                        tokenizer.load_userdict(str(file))
            _tokenizers[key] = tokenizer
        return _tokenizers[key]


def words(text: str, dictionary_dir: Optional[Path] = None) -> List[str]:
    """jieba words of the normalized text, without punctuation or spaces."""
    tokenizer = jieba_tokenizer(dictionary_dir)
    return [w for w in tokenizer.lcut(normalize(text)) if _is_word(w)]


def search_tokens(text: str, dictionary_dir: Optional[Path] = None) -> List[str]:
    """Words plus character bigrams of the text's letters and digits."""
    normalized = normalize(text)
    chars = [ch for ch in normalized if ch.isalnum()]
    bigrams = [f"{a}{b}" for a, b in zip(chars, chars[1:], strict=False)]
    return words(normalized, dictionary_dir) + [f"#{b}" for b in bigrams]
