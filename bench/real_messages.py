"""The bot on real customer messages, through the real path: the gateway's WebSocket, Rasa, the actions.

Labels: evaluation/real_labels/ (docs/real-message-labels.md); texts are read from ../shared at run time.
Run: `make bench` (all) or `.venv/bin/python -m bench.real_messages [--model models/shop.tar.gz]`.
`--details FILE` writes the development messages one per line (expected, actual, outcome) for reading;
held-out messages are only ever counted.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import List, Optional, Sequence

from tqdm import tqdm

from core.settings import PROJECT_ROOT
from evaluation.behaviour_score import BehaviourReport, format_report, outcome, report
from evaluation.gateway_observer import Observation, observe_stack
from evaluation.live_stack import running_stack
from evaluation.real_messages import LabelledMessage, conversation, load_sets


def observe(model: Path, messages: Sequence[LabelledMessage], concurrency: int = 6) -> List[Observation]:
    """Starts the product with `model` and runs every message through it."""
    with tempfile.TemporaryDirectory(prefix="shop-real-") as work, running_stack(model, Path(work), {
        "SHOP_GATEWAY_RATE_LIMIT_BURST": "50",
    }, quiet=True) as stack:
        with tqdm(total=len(messages), unit="message", desc="real messages") as bar:
            return observe_stack(stack, [conversation(m) for m in messages], concurrency, bar)


def write_details(path: Path, messages: Sequence[LabelledMessage], seen: Sequence[Observation]) -> None:
    """One line per development message, for reading what went wrong (never held-out ones)."""
    lines = []
    for message, observation in zip(messages, seen, strict=True):
        expected = "|".join(str(e) for e in message.expected)
        confidence = f"{observation.confidence:.2f}" if observation.confidence is not None else "-"
        lines.append(
            f"{outcome(message, observation):<20} {message.key:<16} want={expected:<50} got={observation} "
            f"intent={observation.intent} {confidence} :: {message.text[:80]!r} -> {observation.reply[:50]!r}"
            + (f" ERROR {observation.error}" if observation.error else "")
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Prints the outcome shares and tables for the development and the held-out real messages."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=PROJECT_ROOT / "models" / "shop.tar.gz")
    parser.add_argument("--details", type=Path, help="write the development messages' results here")
    parser.add_argument("--concurrency", type=int, default=6)
    args = parser.parse_args(argv)
    dev, held_out = load_sets()
    started = time.perf_counter()
    seen = observe(args.model, list(dev) + list(held_out), args.concurrency)
    seconds = time.perf_counter() - started
    dev_seen, held_seen = seen[: len(dev)], seen[len(dev):]
    results: dict = {}
    for title, messages, observations in (
        ("Real messages, development (tuned on)", dev, dev_seen),
        ("Real messages, held out (never tuned on)", held_out, held_seen),
    ):
        result: BehaviourReport = report(messages, observations)
        results[title] = result
        print("\n".join(format_report(title, result)))
    errors = sum(1 for o in seen if o.error)
    print(f"{len(seen)} messages in {seconds:.1f} s through the gateway; {errors} errors")
    if args.details:
        write_details(args.details, dev, dev_seen)
        print(f"development details: {args.details}")
    return results


if __name__ == "__main__":
    main()
