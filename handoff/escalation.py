"""When the bot hands a conversation to a person: five rules, each a function of what is known about the turn.

Settings: `escalation` in settings.yml. The Rasa actions apply the rules that
need the bot's reading (asking for a person, repeated failures, complaint
intents, sensitive topics); the gateway applies the ones it can decide from
the message and the page alone (VIP tiers, explicit asks for a person, strong
anger, the 转人工 button),
so they work even while Rasa is down. Every escalation says which rule and
what matched.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

import yaml

from core.settings import SettingsError, project_path
from handoff.customer_words import doubted, find_phrase, negated
from handoff.customer_words import tokens as customer_tokens
from handoff.person_request import asks_for_person
from knowledge.text import normalize

REASONS = (
    "request_human", "repeated_failure", "complaint", "sensitive_topic", "vip_tier", "bot_unavailable",
    "left_message", "order_issue",
)
# used when settings.yml does not name a priority
DEFAULT_PRIORITIES = {
    "vip_tier": 30, "complaint": 20, "sensitive_topic": 20, "request_human": 10, "repeated_failure": 10,
    "bot_unavailable": 10, "left_message": 0, "order_issue": 10,
}
_EXCLAMATIONS = re.compile(r"[!！]{3,}")
_QUESTIONS = re.compile(r"[?？]{3,}")


@dataclass(frozen=True)
class Escalation:
    """A decision to hand over: which rule, what matched (for the agent and the reports), how urgent."""

    reason: str
    detail: str
    priority: int

    def to_json(self) -> Dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Turn:
    """What is known about one customer message when the rules run."""

    text: str = ""
    intent: Optional[str] = None          # e.g. "request_human", or "faq/account_frozen" for an FAQ entry
    failures_before: int = 0              # consecutive failed turns before this one
    failed: bool = False                  # the bot could not help with this one either
    tier: Optional[str] = None
    first_message: bool = False           # the conversation's first customer message (no earlier ticket)


@dataclass(frozen=True)
class AngerReading:
    """The lexicon's reading of a message."""

    score: int
    words: List[str] = field(default_factory=list)
    exclamations: int = 0
    questions: int = 0

    def describe(self) -> str:
        parts = []
        if self.words:
            parts.append("情绪词：" + "、".join(self.words))
        if self.exclamations:
            parts.append(f"连续感叹号 ×{self.exclamations}")
        if self.questions:
            parts.append(f"连续问号 ×{self.questions}")
        return "；".join(parts)


@dataclass(frozen=True)
class Rules:
    """The escalation settings, checked on load."""

    request_human_intents: Sequence[str]
    max_failures: int
    complaint_intents: Sequence[str]
    strong_words: Sequence[str]
    mild_words: Sequence[str]
    anger_threshold: int
    sensitive_intents: Sequence[str]
    tiers: Sequence[str]
    priorities: Mapping[str, int]

    @classmethod
    def from_settings(cls, section: Mapping[str, Any]) -> Rules:
        """From settings.yml's `escalation` section; names the setting that is wrong."""
        lexicon_path = project_path(str(section.get("anger_lexicon", "data/escalation/anger_lexicon.yml")))
        lexicon = _load_lexicon(lexicon_path)
        priorities = {}
        for reason in REASONS:
            key = f"priority_{reason}"
            try:
                priorities[reason] = int(section.get(key, DEFAULT_PRIORITIES[reason]))
            except (TypeError, ValueError):
                raise SettingsError(f"settings.yml: escalation.{key} must be a whole number") from None
        max_failures = int(section.get("max_failures", 2))
        if max_failures < 1:
            raise SettingsError("settings.yml: escalation.max_failures must be at least 1")
        return cls(
            request_human_intents=tuple(section.get("request_human_intents") or ["request_human"]),
            max_failures=max_failures,
            complaint_intents=tuple(section.get("complaint_intents") or ["complaint"]),
            strong_words=tuple(lexicon.get("strong") or []),
            mild_words=tuple(lexicon.get("mild") or []),
            anger_threshold=int(section.get("anger_threshold", 2)),
            sensitive_intents=tuple(section.get("sensitive_intents") or []),
            tiers=tuple(str(t).lower() for t in section.get("tiers") or []),
            priorities=priorities,
        )

    def escalate(self, reason: str, detail: str) -> Escalation:
        """An escalation for `reason` at its configured priority."""
        return Escalation(reason, detail, self.priorities[reason])

    # -- the five rules, each usable alone -----------------------------------------------------
    def asked_for_person(self, turn: Turn) -> Optional[Escalation]:
        """Rule 1: the customer asks for a person, at the first ask: by intent, or in words anywhere in the
        message ("改不了，转人工" is a question the classifier may read as an FAQ), read on jieba words
        with negations and questions about the service left out (handoff/person_request.py)."""
        if turn.intent in self.request_human_intents:
            return self.escalate("request_human", f"意图 {turn.intent}")
        words = asks_for_person(turn.text)
        if words:
            return self.escalate("request_human", f"要求人工：“{words}”")
        return None

    def repeated_failure(self, turn: Turn) -> Optional[Escalation]:
        """Rule 2: the bot failed `max_failures` turns in a row (this one included)."""
        failures = turn.failures_before + (1 if turn.failed else 0)
        if turn.failed and failures >= self.max_failures:
            return self.escalate("repeated_failure", f"连续 {failures} 次未能理解或回答")
        return None

    def anger(self, text: str) -> AngerReading:
        """The lexicon's score of a message: strong words 2, mild words 1, runs of ！ or ？ 1 each.

        Words count only as whole jieba words (垃圾袋 is not 垃圾), not negated (一点都不差) and not
        asked about (不是骗子吧, 是不是假货)."""
        tokens = customer_tokens(text)
        words = [w for w in self.strong_words if _said(tokens, w)]
        mild = [w for w in self.mild_words if _said(tokens, w) and not any(w in s for s in words)]
        exclamations = max((len(m) for m in _EXCLAMATIONS.findall(text)), default=0)
        questions = max((len(m) for m in _QUESTIONS.findall(text)), default=0)
        score = 2 * len(words) + len(mild) + (1 if exclamations else 0) + (1 if questions else 0)
        return AngerReading(score, words + mild, exclamations, questions)

    def complaint(self, turn: Turn) -> Optional[Escalation]:
        """Rule 3: a complaint intent, or strong anger by the lexicon; the detail says which matched."""
        reading = self.anger(turn.text)
        parts = []
        if turn.intent in self.complaint_intents:
            parts.append(f"投诉意图 {turn.intent}")
        if reading.score >= self.anger_threshold:
            parts.append(f"情绪分 {reading.score}（{reading.describe()}）")
        elif parts and reading.describe():
            parts.append(reading.describe())
        if turn.intent in self.complaint_intents or reading.score >= self.anger_threshold:
            return self.escalate("complaint", "；".join(parts))
        return None

    def sensitive_topic(self, turn: Turn) -> Optional[Escalation]:
        """Rule 4: topics the shop never leaves to a bot, named by intent or FAQ entry."""
        if turn.intent and turn.intent in self.sensitive_intents:
            return self.escalate("sensitive_topic", f"敏感问题 {turn.intent}")
        return None

    def vip_tier(self, turn: Turn) -> Optional[Escalation]:
        """Rule 5: customers of the listed tiers go to a person on their first message."""
        if turn.first_message and turn.tier and turn.tier.lower() in self.tiers:
            return self.escalate("vip_tier", f"会员等级 {turn.tier}")
        return None

    def first_match(self, turn: Turn, rules: Sequence[str]) -> Optional[Escalation]:
        """The first of the named rules that escalates, in the given order."""
        for name in rules:
            decision = getattr(self, name)(turn)
            if decision:
                return decision
        return None


@lru_cache(maxsize=4096)
def _folded(phrase: str) -> str:
    return normalize(phrase)


def _said(words: Sequence[str], phrase: str) -> bool:
    """The phrase occurs as whole words, neither negated nor doubted."""
    phrase = _folded(phrase)
    # most lexicon words are not in the message at all: a substring test settles those at once
    if phrase not in "".join(words):
        return False
    start = 0
    while True:
        found = find_phrase(words, phrase, start)
        if found is None:
            return False
        if not negated(words, found[0]) and not doubted(words, *found):
            return True
        start = found[0] + 1


BOT_SIDE_RULES = ("asked_for_person", "sensitive_topic", "complaint", "repeated_failure")
GATEWAY_SIDE_RULES = ("vip_tier", "asked_for_person", "complaint")


def _load_lexicon(path: Path) -> Dict[str, List[str]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise SettingsError(f"escalation.anger_lexicon: {path} does not exist (settings.yml)") from None
    except yaml.YAMLError as error:
        raise SettingsError(f"{path} is not valid YAML: {error}") from None
    if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
        raise SettingsError(f"{path}: expected lists named 'strong' and 'mild'")
    return {key: [str(word) for word in words] for key, words in data.items()}


@lru_cache(maxsize=1)
def rules() -> Rules:
    """The process-wide rules from settings.yml."""
    from core.settings import settings

    return Rules.from_settings(settings().get("escalation") or {})
