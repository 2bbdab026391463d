"""Scores what the bot did with real messages against what it should have done (evaluation/real_labels).

Each message gets one outcome:
    right               an expected behaviour: the right entry, the right route, chit-chat for chit-chat,
                        the order form for an entry whose policy it applies to the customer's own order
                        (data/orders/self_service.yml: a task's faq_keys),
                        an escalation where one is expected, or a useful question: suggestions that include
                        an expected entry, or a focused question back for a card or a message that needs
                        clarifying
    confident_wrong     a knowledge-base answer from an entry that is not expected
    needless_escalation handed to a person when no escalation is expected
    missed_escalation   not handed over although a person is expected (and nothing else expected was done)
    unhelpful           anything else: suggestions with nothing relevant, the generic fallback where an
                        answer, a question or a person was needed, a greeting that swallowed a question
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from actions.order_tasks import vocabulary
from evaluation.gateway_observer import Observation
from evaluation.real_messages import LabelledMessage

OUTCOMES = ("right", "confident_wrong", "unhelpful", "needless_escalation", "missed_escalation")
# focused questions back to the customer ("您是想问" suggestions count only when they hold an expected entry)
QUESTIONS = ("ask", "card")


def outcome(message: LabelledMessage, seen: Observation) -> str:
    """The outcome of one message (see the module's docstring)."""
    behaviour = seen.behaviour
    if behaviour == "answer":
        return "right" if message.accepts("answer", seen.detail) else "confident_wrong"
    if behaviour == "escalate":
        return "right" if message.expects("escalate") else "needless_escalation"
    if behaviour in ("order", "product", "bargain", "chitchat") and message.expects(behaviour):
        return "right"
    if behaviour == "order" and any(vocabulary().task_for_faq(key) for key in message.expected_keys()):
        # the expected entry's policy, applied to the customer's own order by the order form (怎么还没发货 with
        # shipping_dispatch_time: this order's promised dispatch), which the labels predate
        return "right"
    if behaviour == "chitchat" and any(message.expects(b) for b in ("card", "clarify", "out_of_scope")):
        # the greeting replies end with a question: 请问有什么可以帮您？
        return "right"
    if behaviour == "clarify" and set(seen.suggested) & set(message.expected_keys()):
        return "right"
    if behaviour in QUESTIONS and (message.expects("clarify") or message.expects("card")):
        return "right"
    if behaviour == "cannot_help" and message.expects("out_of_scope"):
        return "right"
    if message.expects("escalate"):
        return "missed_escalation"
    return "unhelpful"


def explicit_request_for_person(message: LabelledMessage) -> bool:
    """Labelled first of all as an ask for a person."""
    first = message.expected[0]
    return first.behaviour == "escalate" and first.detail == "request_human"


@dataclass
class BehaviourReport:
    """Outcome shares, escalation precision and recall, per-rule figures, and an expected-vs-actual table."""

    n: int
    shares: Dict[str, float]
    escalation_precision: Optional[float]
    escalations: int
    explicit_requests: int
    explicit_requests_escalated: int
    rules: List[Tuple[str, int, int, Optional[float], int, Optional[float]]]
    table: Dict[str, Counter]

    def right_share(self) -> float:
        return self.shares["right"]


def report(messages: Sequence[LabelledMessage], seen: Sequence[Observation]) -> BehaviourReport:
    """Scores every message; escalation precision counts an escalation right when any escalation is expected."""
    outcomes = [outcome(m, s) for m, s in zip(messages, seen, strict=True)]
    counts = Counter(outcomes)
    n = len(messages)
    escalated = [(m, s) for m, s in zip(messages, seen, strict=True) if s.behaviour == "escalate"]
    good = sum(1 for m, _ in escalated if m.expects("escalate"))
    explicit = [(m, s) for m, s in zip(messages, seen, strict=True) if explicit_request_for_person(m)]
    rules = []
    for reason in ("request_human", "complaint", "sensitive_topic"):
        fired = [m for m, s in escalated if s.detail == reason]
        correct = sum(1 for m in fired if m.accepts("escalate", reason))
        wanted = [(m, s) for m, s in zip(messages, seen, strict=True)
                  if m.expected[0].behaviour == "escalate" and m.expected[0].detail == reason]
        caught = sum(1 for _, s in wanted if s.behaviour == "escalate")
        rules.append((reason, len(fired), correct, correct / len(fired) if fired else None,
                      len(wanted), caught / len(wanted) if wanted else None))
    table: Dict[str, Counter] = defaultdict(Counter)
    for m, s in zip(messages, seen, strict=True):
        table[m.expected[0].behaviour][s.behaviour] += 1
    return BehaviourReport(
        n=n,
        shares={o: counts[o] / n if n else 0.0 for o in OUTCOMES},
        escalation_precision=good / len(escalated) if escalated else None,
        escalations=len(escalated),
        explicit_requests=len(explicit),
        explicit_requests_escalated=sum(1 for _, s in explicit if s.behaviour == "escalate"),
        rules=rules,
        table=dict(table),
    )


def format_report(title: str, result: BehaviourReport) -> List[str]:
    """Printable lines: outcome shares, escalation figures and the expected-vs-actual table."""
    lines = [f"== {title}: {result.n} real messages =="]
    lines.append("  " + "  ".join(f"{o} {result.shares[o]:.3f}" for o in OUTCOMES))
    precision = "n/a" if result.escalation_precision is None else f"{result.escalation_precision:.3f}"
    lines.append(
        f"  escalations {result.escalations}, precision {precision}; explicit requests for a person "
        f"{result.explicit_requests_escalated}/{result.explicit_requests} escalated"
    )
    lines.append("  rule             fired  correct  precision  expected  recall")
    for reason, fired, correct, precision_, wanted, recall in result.rules:
        p = "  n/a" if precision_ is None else f"{precision_:.2f}"
        r = "  n/a" if recall is None else f"{recall:.2f}"
        lines.append(f"  {reason:<16} {fired:>5}  {correct:>7}  {p:>9}  {wanted:>8}  {r:>6}")
    behaviours = sorted({b for row in result.table.values() for b in row})
    lines.append("  expected \\ actual  " + " ".join(f"{b[:11]:>11}" for b in behaviours))
    for expected in sorted(result.table):
        row = result.table[expected]
        lines.append(f"  {expected:<18} " + " ".join(f"{row.get(b, 0):>11}" for b in behaviours))
    return lines
