"""The chat page's own texts: menu buttons ("配送咨询") and system lines ("请选择咨询订单").

The patterns are the shop's to configure, in `data/normalise/page_texts.yml`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import List, Optional, Tuple

import yaml

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "data" / "normalise" / "page_texts.yml"
_TRIM = " \t\n,，.。!！?？~～、;；:：…"


@dataclass(frozen=True)
class PageText:
    """A chat page's text: a menu label with the topic it stands for, or a system line (topic None)."""

    text: str
    topic: Optional[str]


@lru_cache(maxsize=4)
def _patterns(path: str) -> Tuple[List[Tuple[re.Pattern, str]], List[re.Pattern]]:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ValueError(f"{path}: cannot read the chat page's texts: {error}") from None
    menu, system = [], []
    for number, item in enumerate(data.get("menu_labels") or [], start=1):
        if not isinstance(item, dict) or "pattern" not in item or "topic" not in item:
            raise ValueError(f"{path}: menu_labels entry {number} needs 'pattern' and 'topic'")
        menu.append((re.compile(f"(?:{item['pattern']})"), str(item["topic"])))
    for number, pattern in enumerate(data.get("system_texts") or [], start=1):
        try:
            system.append(re.compile(f"(?:{pattern})"))
        except re.error as error:
            raise ValueError(f"{path}: system_texts entry {number} is not a valid pattern: {error}") from None
    return menu, system


def page_parts(text: str, path: Path = DEFAULT_FILE) -> List[Tuple[int, int, PageText]]:
    """Every space-separated part of the text that is a page text, with its span."""
    menu, system = _patterns(str(path))
    parts = []
    for match in re.finditer(r"\S+", text):
        word = match.group(0).strip(_TRIM)
        if not word:
            continue
        topic = next((t for p, t in menu if p.fullmatch(word)), None)
        if topic or any(p.fullmatch(word) for p in system):
            parts.append((match.start(), match.end(), PageText(word, topic)))
    return parts
