"""Ending console sessions everywhere: a logout, a password change or disabling an account closes the
account's open console sockets on this gateway and, through the fan-out channel, on every other replica."""

from __future__ import annotations

from typing import Any, Dict, Optional

from bot.gateway.console_hub import ConsoleHub
from bot.gateway.hub import ConversationHub

# the fan-out channel on which ended sessions are announced (no conversation id has a "#")
SESSIONS_CHANNEL = "#sessions"


class SessionCloser:
    """Closes the console sockets of ended sessions, here and on the other gateways."""

    def __init__(self, hub: ConversationHub, consoles: ConsoleHub) -> None:
        self.hub = hub
        self.consoles = consoles
        hub.subscribe(SESSIONS_CHANNEL, self)

    def end(self, agent_id: int, session: Optional[str] = None) -> int:
        """Closes the sockets of one session (its token's hash) or, with None, of every session of the
        account; returns how many closed here. Other gateways hear it on the channel."""
        closed = self._close(agent_id, session)
        self.hub.push(SESSIONS_CHANNEL, {"type": "session_ended", "agent_id": agent_id, "session": session})
        return closed

    def put_nowait(self, frame: Dict[str, Any]) -> None:
        """An ended session announced on the channel (by this gateway too: closing twice does nothing)."""
        if frame.get("type") == "session_ended":
            self._close(int(frame.get("agent_id", 0)), frame.get("session"))

    def _close(self, agent_id: int, session: Optional[str]) -> int:
        closing = [c for c in list(self.consoles.connections)
                   if c.agent.id == agent_id and (session is None or c.session == session)]
        for connection in closing:
            self.consoles.forget(connection)
            connection.end()
        return len(closing)
