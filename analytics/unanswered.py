"""What the bot could not answer: the customer messages that ended in a fallback or an escalation,
grouped by similarity, each group with a knowledge-base entry drafted from it."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Dict, List

import numpy as np
import yaml
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import cosine_similarity

from analytics.events import Event

SIMILAR = 0.25
FAILURE_KINDS = ("fallback", "clarification", "escalation")
# messages that are not questions: no knowledge-base entry could have answered them
NOT_QUESTIONS = frozenset({"greet", "goodbye", "thank", "affirm", "deny", "request_human", "bot_challenge"})


def failed_questions(events: List[Event]) -> List[Dict[str, Any]]:
    """For each failure or escalation, the customer message that led to it (and the first agent reply after)."""
    by_conversation: Dict[str, List[Event]] = defaultdict(list)
    for event in events:
        by_conversation[event.conversation_id].append(event)
    found = []
    for items in by_conversation.values():
        items.sort(key=lambda e: e.at)
        last_customer = None
        for index, event in enumerate(items):
            if event.kind == "customer_message" and event.text and (event.detail or {}).get("to") != "agent":
                last_customer = None if event.intent in NOT_QUESTIONS else event
            elif event.kind in FAILURE_KINDS and (event.detail or {}).get("route") == "order":
                # the order form's questions (which order? the phone's last 4?) and the order system's outages:
                # no knowledge-base entry would have answered them
                last_customer = None
            elif event.kind in FAILURE_KINDS and last_customer is not None and event.reason != "left_message":
                reply = next((e.text for e in items[index:] if e.kind == "agent_message" and e.text), None)
                ending = "escalation" if event.kind == "escalation" else "fallback"
                found.append({"text": last_customer.text, "ending": ending, "agent_reply": reply})
                last_customer = None
    return found


def group(questions: List[Dict[str, Any]], limit: int = 20) -> List[Dict[str, Any]]:
    """Greedy single-pass grouping on character n-gram TF-IDF cosine similarity; largest groups first."""
    texts = [q["text"] for q in questions]
    if not texts:
        return []
    vectors = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True).fit_transform(texts)
    similarity = cosine_similarity(vectors)
    groups: List[List[int]] = []
    # each message's summed similarity to every group's members, kept as groups grow: a message is compared
    # with all groups in one step (the mean of its similarities to a group's members), not group by group,
    # which took minutes of the database thread for a few thousand messages
    totals = np.zeros((len(texts), len(texts)))
    sizes = np.zeros(len(texts))
    for index in range(len(texts)):
        count = len(groups)
        means = totals[index, :count] / sizes[:count] if count else None
        best = int(np.argmax(means)) if count else -1  # the first of equals, as max() over the groups was
        if count and means[best] >= SIMILAR:
            groups[best].append(index)
        else:
            best = count
            groups.append([index])
        totals[:, best] += similarity[:, index]
        sizes[best] += 1
    groups.sort(key=len, reverse=True)
    result = []
    for number, members in enumerate(groups[:limit], start=1):
        # the member most like the others stands for the group
        centre = max(members, key=lambda i: similarity[i, members].sum())
        examples = [texts[centre]] + [texts[i] for i in members if i != centre]
        unique = list(dict.fromkeys(examples))
        reply = next((questions[i]["agent_reply"] for i in members if questions[i]["agent_reply"]), None)
        endings = [questions[i]["ending"] for i in members]
        result.append({
            "id": f"g{number}",
            "size": len(members),
            "ending": max(set(endings), key=endings.count),
            "examples": unique[:8],
            "agent_reply": reply,
            "draft": draft_entry(number, unique, reply),
        })
    return result


def draft_entry(number: int, examples: List[str], reply: str | None) -> str:
    """A knowledge-base entry (docs/kb-format.md) to review and paste into data/kb/<category>.yml."""
    entry = {
        "key": f"draft_{number:03d}",
        "question": examples[0].rstrip("？?") + "？",
        "paraphrases": examples[1:6] or [examples[0]],
        "answer": reply or "（请填写答案）",
    }
    return yaml.safe_dump([entry], allow_unicode=True, sort_keys=False, width=80)
