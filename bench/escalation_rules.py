"""Each escalation signal's precision and recall on real messages, and the rules built from them.

Messages: the labelled real messages plus a targeted sample of turns that look like escalations
(evaluation/escalation_candidates.py), per side. A signal fires on a message; it is right when the
labels expect that escalation (any listed behaviour), and the recall counts the messages whose first
expected behaviour is that escalation.
Rules are chosen on the development messages; the held-out ones are only reported.
Run: `make bench` (all) or `.venv/bin/python -m bench.escalation_rules [--model models/shop.tar.gz]`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from core.settings import PROJECT_ROOT, project_path, settings
from evaluation.rasa_nlu import parse_all
from evaluation.real_messages import (
    DEV_ESCALATION_LABELS,
    HELD_OUT_ESCALATION_LABELS,
    LabelledMessage,
    labelled_messages,
    load_sets,
)
from handoff.escalation import rules
from handoff.person_request import asks_for_person
from knowledge import load_knowledge_base

Signal = Callable[[str, Dict[str, Any]], bool]
# the phrase list the gateway matched as substrings before person_request.py, for comparison
OLD_PHRASES = (
    "转人工", "人工客服", "找人工", "我要人工", "接人工", "叫人工", "人工服务", "有人工吗",
    "真人客服", "找真人", "转真人",
)


def confidence_of(parse: Dict[str, Any], intent: str) -> float:
    """The classifier's confidence in `intent` (0 when it is not ranked)."""
    for item in parse.get("intent_ranking") or []:
        if item.get("name") == intent:
            return float(item.get("confidence", 0.0))
    return 0.0


def top_is(parse: Dict[str, Any], intent: str, at_least: float = 0.0) -> bool:
    ranking = [r for r in parse.get("intent_ranking") or [] if r.get("name") != "nlu_fallback"]
    return bool(ranking) and ranking[0].get("name") == intent and float(ranking[0]["confidence"]) >= at_least


def signals() -> Dict[str, List[Tuple[str, Signal]]]:
    """Candidate signals per escalation reason; the first of each is the one the product uses."""
    anger = rules().anger
    threshold = rules().anger_threshold
    return {
        "request_human": [
            ("words (person_request) or intent >= 0.95 [product]",
             lambda text, p: bool(asks_for_person(text)) or top_is(p, "request_human", 0.95)),
            ("words only", lambda text, p: bool(asks_for_person(text))),
            ("intent only (any confidence)", lambda text, p: top_is(p, "request_human")),
            ("substring phrases (before)", lambda text, p: any(w in text for w in OLD_PHRASES)
             or text.strip(" 。！!") == "人工"),
        ],
        "complaint": [
            (f"lexicon >= {threshold} or intent >= 0.5 [product]",
             lambda text, p: anger(text).score >= threshold or top_is(p, "complaint", 0.5)),
            (f"lexicon >= {threshold} or intent >= 0.95 (the strict threshold)",
             lambda text, p: anger(text).score >= threshold or top_is(p, "complaint", 0.95)),
            (f"lexicon >= {threshold} or intent (any confidence, before)",
             lambda text, p: anger(text).score >= threshold or top_is(p, "complaint")),
            ("intent and lexicon >= 1", lambda text, p: top_is(p, "complaint") and anger(text).score >= 1),
            (f"lexicon >= {threshold} only", lambda text, p: anger(text).score >= threshold),
            ("intent >= 0.95 only", lambda text, p: top_is(p, "complaint", 0.95)),
            *[(f"lexicon >= {threshold} or intent >= {c}",
               lambda text, p, c=c: anger(text).score >= threshold or top_is(p, "complaint", c))
              for c in (0.6, 0.7, 0.8, 0.9)],
        ],
        "sensitive_topic": [
            ("dispute or legal intent >= 0.95 [product]",
             lambda text, p: top_is(p, "refund_dispute", 0.95) or top_is(p, "legal_threat", 0.95)),
            ("dispute or legal intent (any confidence, before)",
             lambda text, p: top_is(p, "refund_dispute") or top_is(p, "legal_threat")),
            *[(f"dispute or legal intent >= {c}",
               lambda text, p, c=c: top_is(p, "refund_dispute", c) or top_is(p, "legal_threat", c))
              for c in (0.5, 0.7, 0.9)],
        ],
    }


def measure(messages: Sequence[LabelledMessage], parses: Sequence[Dict[str, Any]], reason: str,
            signal: Signal) -> Dict[str, Optional[float]]:
    """How often the signal fires, how often rightly, and how many first-choice escalations it catches."""
    fired = [m for m, p in zip(messages, parses, strict=True) if signal(m.text, p)]
    correct = sum(1 for m in fired if m.accepts("escalate", reason))
    wanted = [(m, p) for m, p in zip(messages, parses, strict=True)
              if m.expected[0].behaviour == "escalate" and m.expected[0].detail == reason]
    caught = sum(1 for m, p in wanted if signal(m.text, p))
    return {"fired": len(fired), "correct": correct, "precision": correct / len(fired) if fired else None,
            "expected": len(wanted), "recall": caught / len(wanted) if wanted else None}


def escalation_candidates(path: Path, kb_keys: Sequence[str]) -> List[LabelledMessage]:
    """The targeted sample of turns that look like escalations (empty when that file is absent)."""
    return labelled_messages(path, kb_keys=kb_keys) if path.exists() else []


def _share(value: Optional[float]) -> str:
    return " n/a" if value is None else f"{value:.2f}"


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """Prints each signal's figures on the development and held-out real messages."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=PROJECT_ROOT / "models" / "shop.tar.gz")
    args = parser.parse_args(argv)
    kb_keys = [entry.key for entry in load_knowledge_base(project_path(settings()["knowledge_base"]["path"]))]
    dev, held_out = (list(side) for side in load_sets(kb_keys))
    dev += escalation_candidates(DEV_ESCALATION_LABELS, kb_keys)
    held_out += escalation_candidates(HELD_OUT_ESCALATION_LABELS, kb_keys)
    parses = parse_all(args.model, [m.text for m in dev] + [m.text for m in held_out])
    sides = {"development": (dev, parses[: len(dev)]), "held out": (held_out, parses[len(dev):])}
    print("== Escalation signals on real messages: fired / correct / precision / expected first / recall ==")
    results: Dict[str, Any] = {}
    for reason, candidates in signals().items():
        print(f"  {reason}")
        for name, signal in candidates:
            line = f"    {name:<58}"
            for side, (messages, side_parses) in sides.items():
                figures = measure(messages, side_parses, reason, signal)
                results[(reason, name, side)] = figures
                line += (f"  {side}: {figures['fired']:>3} {figures['correct']:>3} {_share(figures['precision'])}"
                         f" {figures['expected']:>3} {_share(figures['recall'])}")
            print(line)
    return results


if __name__ == "__main__":
    main()
