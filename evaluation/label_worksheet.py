"""Prints a labelling worksheet of real sessions (docs/real-message-labels.md); the text is never stored.

Run: `.venv/bin/python -m evaluation.label_worksheet --side dev --sessions 160 [--start 160]`
"""

from __future__ import annotations

import argparse

from evaluation.real_messages import worksheet


def main() -> None:
    """Prints each selected turn with the session up to it."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--side", choices=("dev", "held-out"), default="dev")
    parser.add_argument("--sessions", type=int, default=160, help="how many sessions of that side, in order")
    parser.add_argument("--start", type=int, default=0, help="skip this many sessions first (already labelled)")
    args = parser.parse_args()
    for line in worksheet(args.side == "held-out", args.sessions, start=args.start):
        print(line)


if __name__ == "__main__":
    main()
