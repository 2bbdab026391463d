"""Numbers from paths and query strings, checked where they are parsed: ASCII digits within a range, so a
huge or odd value is a 4xx here and never an overflow in SQL or in date arithmetic further down."""

from __future__ import annotations

import math
import re
from typing import Optional

# ASCII only: int() would also take "١٢" (Arabic-Indic digits), "1_000" and surrounding spaces
_INTEGER = re.compile(r"-?[0-9]{1,19}")
# tickets.id is an INTEGER column: PostgreSQL's is 32 bits
MAX_TICKET_ID = 2**31 - 1


def bounded_int(text: Optional[str], low: int, high: int) -> int:
    """`text` as an integer in [low, high]; ValueError (saying the range) otherwise."""
    if text is None or not _INTEGER.fullmatch(text) or not low <= int(text) <= high:
        raise ValueError(f"expected a whole number from {low} to {high}")
    return int(text)


def bounded_float(text: Optional[str], low: float = -math.inf, high: float = math.inf) -> float:
    """`text` as a finite number in [low, high]; ValueError otherwise (float() takes 'nan' and 'inf')."""
    try:
        value = float(text) if text is not None and len(text) <= 32 else math.nan
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not low <= value <= high:
        raise ValueError(f"expected a number from {low} to {high}")
    return value


def ticket_id(text: Optional[str]) -> int:
    """A ticket id from a path: 1 to MAX_TICKET_ID; ValueError otherwise."""
    return bounded_int(text, 1, MAX_TICKET_ID)
