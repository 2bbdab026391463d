"""Why a handoff request was refused, for the channel that carries it to say in its own words."""

from __future__ import annotations

from typing import Any


class HandoffRefused(Exception):
    """A customer's handoff request that cannot be done: `code` (no_ticket, bad_rating, empty, too_long,
    bad_phone) and the values its message needs (e.g. `limit`)."""

    def __init__(self, code: str, **values: Any) -> None:
        self.code = code
        self.values = values
        super().__init__(code)
