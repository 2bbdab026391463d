"""Customer turns that look like escalations (words about people, anger, disputes), beyond the turns
selected for the behaviour labels: a second, targeted sample for measuring the escalation rules.

The filter is deliberately broad (人工 also catches 人工客服几点上班, 垃圾 also 垃圾袋), so the sample holds
the look-alikes the rules must leave alone as well as the real asks. Labels: evaluation/real_labels/
jddc_dev_escalation.yml and jddc_held_out_escalation.yml, same format as the behaviour labels.
Run `python -m evaluation.escalation_candidates --side dev` for a worksheet.
"""

from __future__ import annotations

import argparse
import re
from typing import Dict, Iterator, List, Optional, Tuple

from evaluation.real_messages import Session, load_sessions, selected_turns, sessions_in_order

CANDIDATE = re.compile(
    r"人工|客服|经理|主管|负责人|投诉|差评|骗|垃圾|气死|凭什么|凭啥|不给|驳回|律师|12315|举报|[!！]{2,}|[?？]{3,}|退钱|态度|什么破|坑"
)


def candidates(held_out: bool, sessions: Optional[Dict[str, Session]] = None) -> List[Tuple[Session, int]]:
    """Every matching customer turn of one side that is not already a selected turn, in a fixed order."""
    sessions = sessions if sessions is not None else load_sessions()
    found = []
    for session in sessions_in_order(sessions, held_out):
        chosen = set(selected_turns(session))
        for index in session.customer_turns():
            if index not in chosen and CANDIDATE.search(session.turns[index].text):
                found.append((session, index))
    return found


def worksheet(held_out: bool) -> Iterator[str]:
    """Each candidate with the customer's previous message (printed, never stored)."""
    for session, index in candidates(held_out):
        previous = session.previous_customer_turn(index)
        yield f"## session: {session.id[:12]}  turn: {index}"
        if previous is not None:
            yield f"   before: {session.turns[previous].text}"
        yield f">> {session.turns[index].text}"


def main() -> None:
    """Prints the worksheet of one side."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--side", choices=("dev", "held-out"), default="dev")
    args = parser.parse_args()
    for line in worksheet(args.side == "held-out"):
        print(line)


if __name__ == "__main__":
    main()
