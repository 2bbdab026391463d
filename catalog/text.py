"""Text folded the way the NLU folds it, for matching product names, aliases and spec words."""

from __future__ import annotations

import re

from knowledge.text import normalize

# a space that does not stand between two Latin letters or digits (x5 512g keeps its space)
_LOOSE_SPACE = re.compile(r"(?<![a-z0-9]) | (?![a-z0-9])")


def fold(text: str) -> str:
    """Simplified Chinese, half-width, lower case (the NLU's folding), without whitespace except one space
    between two Latin words or numbers.

    Customers write 云朵無線降噪耳機PRO as often as 云朵 无线降噪耳机 Pro; both fold to the same string.
    """
    return _LOOSE_SPACE.sub("", normalize(text or ""))


def is_ascii_word_char(ch: str) -> bool:
    """A Latin letter or digit: a term made of them must not match inside a longer word (s8 in s80)."""
    return ch.isascii() and ch.isalnum()


def find_term(text: str, term: str, start: int = 0) -> int:
    """The first index >= start where `term` occurs in `text` as a whole term, or -1.

    Both are folded. A term that begins or ends with a Latin letter or digit must not touch another one
    there, so "pro" does not match inside "product" nor "33w" inside "133w".
    """
    while True:
        index = text.find(term, start)
        if index < 0 or not term:
            return -1
        end = index + len(term)
        before_ok = index == 0 or not (is_ascii_word_char(term[0]) and is_ascii_word_char(text[index - 1]))
        after_ok = end == len(text) or not (is_ascii_word_char(term[-1]) and is_ascii_word_char(text[end]))
        if before_ok and after_ok:
            return index
        start = index + 1

