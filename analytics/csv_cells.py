"""CSV cells a spreadsheet will not run: OWASP's rule against CSV injection.

A cell that begins with `=`, `+`, `-` or `@` (or a tab or carriage return, which some spreadsheets skip
before reading the rest as a formula) is a formula to Excel, LibreOffice and Google Sheets:
`=HYPERLINK("http://x","y")` typed by a customer would become a live link in the supervisor's export. Such a
text cell gets a leading single quote, which the spreadsheet shows as text. Numbers stay numbers (a negative
number is not text a customer wrote).
"""

from __future__ import annotations

from typing import Any, Iterable, List

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """`value`, with a leading `'` when it is text a spreadsheet would read as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(values: Iterable[Any]) -> List[Any]:
    """Every cell of a row through `safe_cell`."""
    return [safe_cell(value) for value in values]
