"""A message's shape: its cards and links, the chat page's texts, pleasantries, and the core left to classify."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from customer_text.cards import Card, find_cards
from customer_text.page_texts import PageText, page_parts
from customer_text.pleasantries import core_span, is_pleasantry

Span = Tuple[int, int]


@dataclass(frozen=True)
class MessageShape:
    """What a message holds, with spans into the original text.

    `kind`: "card" (only cards and links), "page" (only the chat page's texts, maybe with cards),
    "text" (there is something to classify; `core` holds its spans).
    """

    kind: str
    core: Tuple[Span, ...]
    cards: Tuple[Card, ...] = ()
    page: Tuple[PageText, ...] = ()
    set_aside: Tuple[Span, ...] = field(default=())

    def core_text(self, text: str) -> str:
        """The words left to classify, joined by spaces."""
        return " ".join(text[s:e] for s, e in self.core)

    @property
    def order_number(self) -> Optional[str]:
        """The first order number a pasted card carries."""
        return next((c.order_number for c in self.cards if c.order_number), None)

    @property
    def topic(self) -> Optional[str]:
        """The topic of a menu label the page sent, if any."""
        return next((p.topic for p in self.page if p.topic), None)

    def to_dict(self) -> Dict[str, Any]:
        """For Rasa's parse data (`shop_message`), read by the actions."""
        return {
            "kind": self.kind,
            "cards": [card.to_dict() for card in self.cards],
            "order_number": self.order_number,
            "page": [{"text": p.text, "topic": p.topic} for p in self.page],
            "topic": self.topic,
        }


def _gaps(length: int, taken: List[Span]) -> List[Span]:
    """The spans of [0, length) outside `taken`."""
    gaps, cursor = [], 0
    for start, end in sorted(taken):
        if start > cursor:
            gaps.append((cursor, start))
        cursor = max(cursor, end)
    if cursor < length:
        gaps.append((cursor, length))
    return gaps


def _has_words(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def read_message(text: str) -> MessageShape:
    """Finds cards, page texts and pleasantries; the rest is the core."""
    cards = find_cards(text)
    taken: List[Span] = [(c.start, c.end) for c in cards]
    page = [p for p in page_parts(text) if not any(s <= p[0] < e for s, e in taken)]
    taken += [(start, end) for start, end, _ in page]
    rest = [(s, e) for s, e in _gaps(len(text), taken) if _has_words(text[s:e])]
    if taken and all(is_pleasantry(text[s:e]) for s, e in rest):
        # a card with 在吗 or 谢谢 around it is still only a card
        rest = []
    if not rest:
        kind = "page" if page else "card" if cards else "text"
        core = () if cards or page else (_trim(text, 0, len(text)),)
        return MessageShape(kind, core, tuple(cards), tuple(p for _, _, p in page), tuple(taken))
    # a part that is only a pleasantry is set aside when another part has content
    content = [(s, e) for s, e in rest if not is_pleasantry(text[s:e])]
    core = [_trim(text, *core_span(text, s, e)) for s, e in content or rest]
    core = [(s, e) for s, e in core if s < e]
    aside = taken + [(s, e) for s, e in _gaps(len(text), taken + core) if _has_words(text[s:e])]
    return MessageShape("text", tuple(core), tuple(cards), tuple(p for _, _, p in page), tuple(sorted(aside)))


def _trim(text: str, start: int, end: int) -> Span:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
