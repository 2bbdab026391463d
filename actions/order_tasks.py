"""Which order self-service task a message asks for: the words and knowledge-base entries of
`data/orders/self_service.yml`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import yaml

from core.settings import PROJECT_ROOT
from knowledge.text import normalize_chars
from orders.model import AFTER_SALE_KINDS

TASKS_FILE = PROJECT_ROOT / "data" / "orders" / "self_service.yml"
# every order message that names no task: a person looks at the order
PROBLEM = "problem"
# tasks that only read the order; the others change it and are confirmed first
READING_TASKS = ("track", "not_shipped")
# a knowledge-base question about the customer's own order: pointing at it (我的快递, 这单, 我昨天买的) or asking
# for it to be done (我想取消订单, 帮我开发票); 一般多久发货 and 我想问一下 are questions about the policy
MY_ORDER = re.compile(r"我(?:的|这|那|买|刚|下的|昨|前|今|上周|订|拍|家的)|俺|(?:这|那)(?:个|笔)?(?:订单|单|快递|包裹)")
WANTS_IT_DONE = re.compile(r"我(?:要|想|需要|得)(?!问|了解|咨询|知道|请教)|帮我|给我|替我|麻烦")


# about the shop's rules in general, whoever asks (一般多久发货, 你们的退货流程)
GENERAL = re.compile(r"一般|通常|规定|政策|流程|规则|条件|多久能|几天能|哪些")
# a question, not a request: from an anonymous visitor, the policy answers it (怎么取消订单, 能改地址吗)
ASKS = re.compile(r"怎么|如何|怎样|咋|在哪|哪里|是否|可以吗|能不能|能否|几天|多久|多少|什么时候|啥|吗|么|\?")
# tasks whose words are requests even from an unsure reading (改地址, 取消, 催, 少发); 退款 or 发票 alone is a topic
REQUESTS = ("change_receiver", "cancel", "urge", "problem")


def speaks_of_own_order(text: str) -> bool:
    """我的快递到哪了, 我想取消订单: about the customer's own order, not the shop's policy in general."""
    folded = normalize_chars(text)
    return bool(MY_ORDER.search(folded) or WANTS_IT_DONE.search(folded))


def task_to_start(text: str, entry_task: Optional[str], has_number: bool, verified: bool,
                  entry_read: bool) -> Optional[str]:
    """The order task a message asks for, or None when the shop's policy (or anything else) answers it.

    `entry_task` is the task of the knowledge-base entry the message was read as (None: not a task's entry, or
    no entry); `entry_read` says an entry was read at all: then only a task's entry, an order number or the
    customer's own order make it a task (退货运费谁出 is about the policy, whatever its words)."""
    words = vocabulary().task_from_words(text)
    folded = normalize_chars(text)
    if has_number or speaks_of_own_order(folded):
        return words or entry_task
    if GENERAL.search(folded) or (entry_read and not entry_task) or (ASKS.search(folded) and not verified):
        return None
    task = words or entry_task
    if not entry_read and not verified and task not in REQUESTS:
        # an unsure reading of 退款 or 发票 alone names a topic, not a request: the suggestions ask which
        return None
    return task


class TaskFileError(ValueError):
    """data/orders/self_service.yml is malformed; the message names the entry."""


@dataclass(frozen=True)
class Task:
    name: str
    label: str
    button: str
    faq_keys: Tuple[str, ...]
    words: Tuple[str, ...]


@dataclass(frozen=True)
class TaskVocabulary:
    tasks: Tuple[Task, ...]
    after_sale_words: Dict[str, Tuple[str, ...]]

    def get(self, name: Optional[str]) -> Optional[Task]:
        return next((t for t in self.tasks if t.name == name), None)

    def task_from_words(self, text: str) -> Optional[str]:
        """The first task (in the file's order) whose words the message contains."""
        folded = normalize_chars(text)
        return next((t.name for t in self.tasks if any(w in folded for w in t.words)), None)

    def task_for_faq(self, key: Optional[str]) -> Optional[Task]:
        """The task a knowledge-base entry's question leads to, if any (order_cancel -> cancel)."""
        return next((t for t in self.tasks if key and key in t.faq_keys), None)

    def after_sale_kind(self, text: str) -> Optional[str]:
        """return, exchange or refund, by the message's words; None when it does not say."""
        folded = normalize_chars(text)
        return next((kind for kind, words in self.after_sale_words.items() if any(w in folded for w in words)), None)


def load_vocabulary(path: Path = TASKS_FILE) -> TaskVocabulary:
    """Reads and checks the task file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    tasks: List[Task] = []
    for name, entry in (data.get("tasks") or {}).items():
        missing = [f for f in ("label", "button") if not (entry or {}).get(f)]
        if missing:
            raise TaskFileError(f"{path}: task {name!r} needs {', '.join(missing)}")
        words = tuple(normalize_chars(w) for w in entry.get("words") or ())
        tasks.append(Task(name, str(entry["label"]), str(entry["button"]), tuple(entry.get("faq_keys") or ()), words))
    if not any(t.name == PROBLEM for t in tasks):
        raise TaskFileError(f"{path}: the task {PROBLEM!r} (a person takes the order) must be listed")
    kinds = data.get("after_sale_words") or {}
    unknown = set(kinds) - set(AFTER_SALE_KINDS)
    if unknown:
        raise TaskFileError(f"{path}: after_sale_words has unknown kinds {sorted(unknown)}; use {AFTER_SALE_KINDS}")
    return TaskVocabulary(tuple(tasks), {k: tuple(normalize_chars(w) for w in v or ()) for k, v in kinds.items()})


@lru_cache(maxsize=1)
def vocabulary() -> TaskVocabulary:
    """The process-wide task vocabulary."""
    return load_vocabulary()
