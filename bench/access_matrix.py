"""Who may do what (`evaluation/access_matrix.py`): every role against every customer, console and dashboard
endpoint, expected against measured, as a table.

Run: `PYTHONPATH=. .venv/bin/python -m bench.access_matrix` (also in `make bench`).
"""

from __future__ import annotations

import asyncio
import logging

from evaluation.access_matrix import format_table, measure


def main() -> int:
    """Prints the matrix; exits 1 when a measured cell is not the expected one."""
    logging.basicConfig(level=logging.ERROR)
    cells = asyncio.run(measure())
    print("\n".join(format_table(cells)))
    return 0 if all(c.matches for c in cells) else 1


if __name__ == "__main__":
    raise SystemExit(main())
