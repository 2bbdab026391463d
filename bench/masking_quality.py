"""Recall and precision of the personal-data masker (analytics/masking.py) on the labelled set.

The set is evaluation/pii_set.yml: Chinese customer messages with their personal data marked as spans,
about a quarter with none but look-alikes (order numbers, prices, dates, tracking numbers, models). Its
`development` part is what the masker is tuned on; the `held_out` part was written first and never
tuned on.

Scored span by span on character overlap (evaluation/pii_set.py):
- recall: a labelled span is found when every character of it but spaces and punctuation lies inside a
  span the masker found (of any kind), so masking leaves nothing of it; a partly covered span is missed.
- precision: a span the masker found is right when it overlaps a labelled span; otherwise it masked
  words that were not personal data.

Run: `make bench` (all) or `.venv/bin/python -m bench.masking_quality [-v]` (-v lists the development part's mistakes).
"""

from __future__ import annotations

import sys
from typing import Dict, List, Optional

from analytics.masking import find_personal_data
from evaluation.pii_set import PARTS, Tally, load, score


def _table(part: str, tallies: Dict[str, Tally]) -> None:
    print(f"-- {part} --")
    print(f"{'kind':<10} {'spans':>5} {'recall':>7} {'found':>5} {'precision':>9}")
    for kind in sorted(k for k in tallies if k != "all") + ["all"]:
        t = tallies[kind]
        recall = f"{t.recall:.3f}" if t.labelled else "-"
        precision = f"{t.precision:.3f}" if t.predicted else "-"
        print(f"{kind:<10} {t.labelled:>5} {recall:>7} {t.predicted:>5} {precision:>9}")


def main(argv: Optional[List[str]] = None) -> Dict[str, Tally]:
    """Prints a table per part; returns the overall tally of each part."""
    verbose = "-v" in (argv or [])
    print("== Masking personal data: recall and precision (evaluation/pii_set.yml) ==")
    overall = {}
    for part in PARTS:
        items = load(part)
        tallies, mistakes = score(items, find_personal_data)
        print(f"{part}: {len(items)} messages, {sum(not i.spans for i in items)} without personal data")
        _table(part, tallies)
        overall[part] = tallies["all"]
        if verbose and part == "development":  # the held-out part's mistakes are not for tuning
            for what, kind, text in mistakes:
                print(f"  {what} {kind}: {text!r}")
    return overall


if __name__ == "__main__":
    main(sys.argv[1:])
