"""Stored means handled: the sweep every gateway runs over the customer messages that are not finished yet.

Each gateway, every `interval` seconds,
- renews the leases of the pending messages it is answering (the bot may take up to its timeout), and
- claims the pending messages whose lease ran out and handles them as if they had just arrived
  (ChatService.resume): a gateway that died between storing a message and finishing it, a message the bot
  could not answer yet (its retry is due), a bot's request for a person still waiting for its ticket.
A claim is one conditional UPDATE (store.claim_unhandled), so two gateways never take the same message; the
bot's answer is stored only while the message is pending, so a message is never answered twice.
"""

from __future__ import annotations

import asyncio
import logging
import time

from bot.gateway.bot_relay import BotRelay
from bot.gateway.conversations import ChatService
from bot.gateway.hub import ConversationHub

logger = logging.getLogger(__name__)


class PendingSweep:
    """Renews this gateway's leases and takes over messages nobody holds."""

    def __init__(self, hub: ConversationHub, service: ChatService, relay: BotRelay, *, interval: float = 1.0,
                 renew_every: float = 2.0) -> None:
        self.hub = hub
        self.service = service
        self.relay = relay
        self.interval = interval
        self.renew_every = renew_every
        self._renewed = 0.0

    async def run_forever(self) -> None:
        """Sweeps until cancelled; a failed sweep (the database restarting) is logged and tried again."""
        while True:
            try:
                await self.sweep_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the next sweep tries again
                logger.exception("the pending-message sweep failed; trying again in %.0f s", self.interval)
            await asyncio.sleep(self.interval)

    async def sweep_once(self) -> int:
        """One round; returns how many messages were taken over."""
        if time.monotonic() - self._renewed >= self.renew_every:
            await self.hub.renew(self.relay.holding())
            self._renewed = time.monotonic()
        claimed = await self.hub.claim_unhandled()
        held = set(self.relay.holding())
        for message in claimed:
            if message.id in held:
                continue  # already being answered here: its lease is renewed above
            logger.info("conversation %s: taking over message %s (%s, attempt %d)",
                        message.conversation_id, message.id, message.handling, message.attempts)
            try:
                await self.service.resume(message)
            except Exception:  # noqa: BLE001 - one message must not stop the others; its lease runs out again
                logger.exception("conversation %s: message %s could not be handled; it will be tried again",
                                 message.conversation_id, message.id)
        return len(claimed)
