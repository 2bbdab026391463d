"""What the handoff service needs from the rest of the product, as interfaces it owns.

The gateway's conversation hub provides `Conversations`; `run_blocking` is the thread the gateway
runs SQL in. The service imports neither, so it runs the same under any transport.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Protocol, Tuple


class StoredMessage(Protocol):
    """A stored conversation message, as the handoff service reads it."""

    id: str
    sender: str
    text: str

    def to_frame(self) -> Dict[str, Any]:
        """The message as its clients are sent it."""

    def to_transcript_line(self) -> Dict[str, Any]:
        """The message as the agent sees it, with the bot's reading of a customer message."""


class Conversations(Protocol):
    """The conversations tickets belong to."""

    async def shop_metadata(self, conversation_id: str) -> Optional[Dict[str, str]]:
        """The conversation's shop metadata (customer id, tier, page), or None if it does not exist."""

    async def history(self, conversation_id: str, after_seq: int = 0) -> List[StoredMessage]:
        """The conversation's stored messages, oldest first."""

    async def post(
        self, conversation_id: str, sender: str, text: str, *, extra: Optional[Dict[str, Any]] = None
    ) -> Tuple[StoredMessage, bool]:
        """Stores a message in the conversation and shows it to whoever is connected; (message, duplicate)."""


RunBlocking = Callable[..., Any]
