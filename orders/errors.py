"""What can go wrong asking the shop's order system; each carries a code for programs and a Chinese text."""

from __future__ import annotations


class OrderError(Exception):
    """Base of the order system's errors."""

    code = "order_error"

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class OrderNotFound(OrderError):
    """No such order (or not this customer's: the two are not told apart, so numbers cannot be probed)."""

    code = "not_found"


class ActionRefused(OrderError):
    """The order's state does not allow the change (shipped already, past the return window, ...)."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(text)
        self.code = code


class ShopUnavailable(OrderError):
    """The shop's system did not answer in time, answered with an error, or its circuit is open."""

    code = "unavailable"
