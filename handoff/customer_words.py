"""Customer messages as jieba words, for rules that must not match inside other words.

垃圾袋 is not 垃圾 and 人工费 is not 人工: the rules look at whole words (the shop dictionary in
jieba_dict/ keeps shop terms whole), and at the words around them for negation and questions.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Optional, Sequence, Tuple

from core.settings import project_path, settings
from knowledge.text import jieba_tokenizer, normalize

NEGATIONS = (
    "不用", "不要", "不需要", "不必", "无需", "没必要", "别", "不想", "不", "没", "没有", "不是", "并不", "从不",
    "不太", "并非", "毫不",
)
# a negation does not reach across these
_CLAUSE_ENDS = set(",，.。!！?？;；~～ ")
# before a word: asking whether it is so, not saying it is (是不是骗子, 不会是假货吧)
DOUBTS = ("是不是", "会不会", "不会", "是否", "难道")


@lru_cache(maxsize=1)
def _dictionary_dir() -> Optional[Path]:
    try:
        return project_path(settings()["knowledge_base"]["dictionary_dir"])
    except (KeyError, OSError):
        return None


@lru_cache(maxsize=1024)
def tokens(text: str) -> Tuple[str, ...]:
    """The jieba words of the folded text (simplified, half-width, lower case), punctuation kept.

    Cached: the person and anger rules read the same message one after the other."""
    tokenizer = jieba_tokenizer(_dictionary_dir())
    return tuple(w for w in tokenizer.lcut(normalize(text)) if w.strip())


def find_phrase(words: Sequence[str], phrase: str, start: int = 0) -> Optional[Tuple[int, int]]:
    """Where `phrase` is a run of whole words (e.g. 太差了 = 太差 + 了), as a word index range."""
    for i in range(start, len(words)):
        joined = ""
        for j in range(i, len(words)):
            joined += words[j]
            if joined == phrase:
                return i, j + 1
            if not phrase.startswith(joined):
                break
    return None


def _a_not_a(words: Sequence[str], position: int) -> bool:
    """能不能, 要不要, 有没有: a question, not a negation."""
    word = words[position]
    previous = words[position - 1] if position else ""
    return bool(previous) and word[:1] in ("不", "没") and word[1:2] == previous[-1:]


def negated(words: Sequence[str], index: int, reach: int = 2) -> bool:
    """A negation among the `reach` words before `index` (不用转人工, 一点都不差, 不是骗子)."""
    for position in range(index - 1, max(0, index - reach) - 1, -1):
        word = words[position]
        if word in _CLAUSE_ENDS:
            return False
        if word in NEGATIONS and not _a_not_a(words, position):
            return True
    return False


def doubted(words: Sequence[str], start: int, end: int) -> bool:
    """Asked about rather than said: 是不是X, 会不会X, or X...吧 at the end."""
    before = "".join(words[max(0, start - 2): start])
    after = words[end:]
    return any(before.endswith(d) for d in DOUBTS) or (bool(after) and after[-1] in ("吧", "吧?", "吧？"))
