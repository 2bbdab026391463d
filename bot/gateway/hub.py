"""The conversation hub: stores a conversation's messages, then pushes them to whoever is connected.

Anything may post into a conversation through the hub (the bot relay, the customer notices, an
agent); the frame goes out through the fan-out (fan_out.py), which reaches every open WebSocket
and wakes HTTP long-poll clients. The hub also keeps what is true of a conversation right now but
is not a message (typing, a notice). Storage runs in a worker thread so SQL never blocks the
event loop, except a turn's two short writes on SQLite (`run_turn`).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from functools import partial
from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar

from bot.gateway.fan_out import FanOut, LocalFanOut, Subscriber
from bot.gateway.live_state import LiveState, LiveStates
from bot.gateway.resume_tokens import is_well_formed, token_hash
from bot.gateway.store import ConversationStore, Message
from core.driver_sql import Read

T = TypeVar("T")

# conversations whose shop metadata stays in memory (a few hundred bytes each)
METADATA_CACHE_SIZE = 10000
# how long a checked resume token is trusted without asking the database again
TOKEN_CACHE_SECONDS = 30.0
# live states kept beyond those of connected conversations: the oldest unconnected ones go first
LIVE_STATE_LIMIT = 10000


class ConversationHub:
    """Stores and fans out messages, typing and notices per conversation."""

    def __init__(self, store: ConversationStore, history_limit: int = 500, fan_out: Optional[FanOut] = None,
                 live_states: Optional[LiveStates] = None) -> None:
        """`fan_out` and `live_states`: in this process by default; shared ones (Redis) when gateways are
        replicas."""
        self.store = store
        self.fan_out: FanOut = fan_out or LocalFanOut()
        # live states changed here are kept in `_live`; shared ones are also written to `live_states` in the
        # background (latest state per conversation), and read from there when a client (re)connects
        self.live_states = live_states
        self._unsaved: Dict[str, LiveState] = {}
        self._saver: Optional[asyncio.Task] = None
        self.history_limit = history_limit
        # SQLite allows one writer: one thread keeps writes in order without lock errors
        self._sqlite = store.engine.dialect.name == "sqlite"
        workers = 1 if self._sqlite else 8
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="conversation-store")
        self._live: Dict[str, LiveState] = {}
        # each conversation's shop metadata, read on every message: kept for the most recent
        # conversations; only this conversation's own hello and messages change it
        self._metadata: OrderedDict[str, Dict[str, str]] = OrderedDict()
        # recently checked resume tokens' hashes and the conversation each opens
        self._tokens: OrderedDict[str, Tuple[str, float]] = OrderedDict()

    def _remember(self, conversation_id: str, metadata: Dict[str, str]) -> Dict[str, str]:
        self._metadata[conversation_id] = metadata
        self._metadata.move_to_end(conversation_id)
        while len(self._metadata) > METADATA_CACHE_SIZE:
            self._metadata.popitem(last=False)
        return dict(metadata)

    async def run_blocking(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Runs blocking SQL (or other blocking work) in the store's worker thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(function, *args, **kwargs))

    async def run_turn(self, function: Callable[..., T], *args: Any) -> T:
        """Runs one of a customer turn's short writes: on SQLite in this thread, at once (a local file that only
        this gateway writes, where the hop to the worker thread and back cost more than the write itself:
        docs/benchmarks.md), elsewhere in the worker threads like any SQL (a server's round trips must not
        hold up the event loop)."""
        if self._sqlite:
            return function(*args)
        return await self.run_blocking(function, *args)

    def close(self) -> None:
        """Waits for pending writes, then stops the worker thread and closes the store's own connections."""
        self._executor.shutdown(wait=True)
        self.store.close()

    def live(self, conversation_id: str) -> LiveState:
        """The conversation's live state as this gateway knows it (created on first use); change it through
        the set_* methods, so shared states are kept."""
        state = self._live.get(conversation_id)
        if state is None:
            state = self._live[conversation_id] = LiveState()
            if len(self._live) > LIVE_STATE_LIMIT:
                self._forget_oldest_live()
        return state

    def _forget_if_idle(self, conversation_id: str) -> None:
        # an idle state is what a missing one means: kept only while a client is connected here (HTTP clients
        # and closed sockets never unsubscribe again)
        state = self._live.get(conversation_id)
        if (state is not None and state.is_idle() and not state.offered_alternatives
                and not self.fan_out.has_subscribers(conversation_id)):
            del self._live[conversation_id]

    def _forget_oldest_live(self) -> None:
        # conversations nobody is connected to here, oldest first, until the limit holds
        excess = len(self._live) - LIVE_STATE_LIMIT
        for conversation_id in [c for c in self._live if not self.fan_out.has_subscribers(c)][:excess]:
            del self._live[conversation_id]

    async def current_live(self, conversation_id: str) -> LiveState:
        """The live state a (re)connecting client is shown: the shared one when gateways share it."""
        here = self._live.get(conversation_id)
        if self.live_states is None or conversation_id in self._unsaved:
            # read without keeping: a missing state is an idle one
            return LiveState(**asdict(here)) if here else LiveState()
        shared = await self.live_states.get(conversation_id)
        # the typing dots are not shared (see set_typing): those of a turn this gateway is answering
        shared.typing = bool(here and here.typing)
        return shared

    def _changed(self, conversation_id: str) -> None:
        if self.live_states is None:
            return
        self._unsaved[conversation_id] = LiveState(**{**asdict(self.live(conversation_id)), "typing": False})
        if self._saver is None or self._saver.done():
            self._saver = asyncio.ensure_future(self._save_live())

    async def _save_live(self) -> None:
        while self._unsaved:
            conversation_id, state = next(iter(self._unsaved.items()))
            await self.live_states.put(conversation_id, state)
            if self._unsaved.get(conversation_id) is state:
                del self._unsaved[conversation_id]

    def set_leave_message_request(self, conversation_id: str, frame: Optional[Dict[str, Any]]) -> None:
        """Opens (a frame) or closes (None) the conversation's "leave a message" form."""
        self.live(conversation_id).leave_message_request = frame
        self._changed(conversation_id)
        self._forget_if_idle(conversation_id)

    def set_offered_alternatives(self, conversation_id: str, offered: bool) -> None:
        """Notes whether the "person or message?" offer was made in the current outage."""
        state = self.live(conversation_id)
        if state.offered_alternatives != offered:
            state.offered_alternatives = offered
            self._changed(conversation_id)
        self._forget_if_idle(conversation_id)

    async def start_conversation(self, shop_metadata: Dict[str, str], resume_token: Optional[str] = None) -> str:
        """A new conversation; returns its id. `resume_token`: the customer's credential for it (kept hashed)."""
        hashed = token_hash(resume_token) if resume_token else None
        conversation_id = await self.run_blocking(self.store.create_conversation, shop_metadata, hashed)
        self._remember(conversation_id, dict(shop_metadata))
        if hashed:
            self._remember_token(hashed, conversation_id)
        return conversation_id

    async def add_resume_token(self, conversation_id: str, resume_token: str) -> None:
        """Gives the conversation another resume token (a verified customer on another device)."""
        hashed = token_hash(resume_token)
        await self.run_blocking(self.store.add_resume_token, conversation_id, hashed)
        self._remember_token(hashed, conversation_id)

    async def token_opens(self, conversation_id: str, resume_token: Optional[str]) -> bool:
        """Whether `resume_token` is a credential for this conversation."""
        if not conversation_id or not is_well_formed(resume_token):
            return False
        hashed = token_hash(resume_token)
        kept = self._tokens.get(hashed)
        if kept is not None and time.monotonic() - kept[1] <= TOKEN_CACHE_SECONDS:
            return kept[0] == conversation_id
        opened = await self.run_blocking(self.store.conversation_of_token, hashed)
        if opened is None:
            self._tokens.pop(hashed, None)
            return False
        self._remember_token(hashed, opened)
        return opened == conversation_id

    def _remember_token(self, hashed: str, conversation_id: str) -> None:
        # every HTTP call checks its token: the recent ones are kept in memory for a short while, so a token
        # deleted elsewhere (an erasure, retention, another replica, the oldest of a conversation's tokens)
        # stops working here within TOKEN_CACHE_SECONDS
        self._tokens[hashed] = (conversation_id, time.monotonic())
        self._tokens.move_to_end(hashed)
        while len(self._tokens) > METADATA_CACHE_SIZE:
            self._tokens.popitem(last=False)

    def forget_metadata(self, conversation_id: str) -> None:
        """Drops what this process keeps of a conversation whose stored data was erased (personal_data.py): its
        shop metadata, so nothing here still names the customer, and its resume tokens, which no longer open it."""
        self._metadata.pop(conversation_id, None)
        for hashed in [h for h, (opened, _) in self._tokens.items() if opened == conversation_id]:
            del self._tokens[hashed]

    async def latest_conversation_of(self, customer_id: str) -> Optional[str]:
        """The verified customer's most recent conversation, if any."""
        return await self.run_blocking(self.store.latest_conversation_of, customer_id)

    async def shop_metadata(self, conversation_id: str) -> Optional[Dict[str, str]]:
        """The conversation's shop metadata, or None if it does not exist."""
        cached = self._metadata.get(conversation_id)
        if cached is not None:
            return dict(cached)
        found = await self.run_blocking(self.store.conversation_metadata, conversation_id)
        return None if found is None else self._remember(conversation_id, found)

    async def update_metadata(self, conversation_id: str, shop_metadata: Dict[str, str]) -> Dict[str, str]:
        """Merges newer metadata into the conversation's."""
        merged = await self.run_blocking(self.store.update_metadata, conversation_id, shop_metadata)
        return self._remember(conversation_id, merged)

    async def history(self, conversation_id: str, after_seq: int = 0) -> List[Message]:
        """Stored messages after `after_seq`."""
        return await self.run_blocking(self.store.history, conversation_id, after_seq, self.history_limit)

    async def find_customer_message(self, conversation_id: str, client_id: str) -> Optional[Message]:
        """The stored customer message with this client id, if any."""
        return await self.run_blocking(self.store.by_client_id, conversation_id, client_id)

    async def offered_payloads(self, conversation_id: str) -> List[str]:
        """Button payloads recently offered in the conversation."""
        return await self.run_blocking(self.store.offered_payloads, conversation_id)

    async def post(
        self,
        conversation_id: str,
        sender: str,
        text: str,
        *,
        client_id: Optional[str] = None,
        payload: Optional[str] = None,
        extra: Optional[Dict[str, Any]] = None,
    ) -> Tuple[Message, bool]:
        """Stores a message and pushes it to the conversation's clients; (message, was it a duplicate)."""
        message, duplicate = await self.run_blocking(
            self.store.append, conversation_id, sender, text, client_id=client_id, payload=payload, extra=extra
        )
        if not duplicate:
            self._fan_out(conversation_id, message.to_frame())
        return message, duplicate

    async def post_bot_turn(
        self,
        conversation_id: str,
        answered: Optional[Message],
        reading: Optional[Dict[str, Any]],
        replies: List[Tuple[str, Dict[str, Any]]],
        handoff: Optional[Dict[str, Any]] = None,
    ) -> Optional[List[Message]]:
        """Stores the bot's replies (text, extra) and its reading of the message they answer, which is finished
        with them (store.append_bot_turn), in one transaction, then pushes the replies to the conversation's
        clients; each names the message it answers (`reply_to`). None when that message was answered already."""
        if answered is not None:
            replies = [(text, {**extra, "reply_to": answered.id}) for text, extra in replies]
        stored = await self.run_turn(
            self.store.append_bot_turn, conversation_id, answered.id if answered else None, reading, replies, handoff
        )
        if stored is None:
            return None
        if answered is not None and reading is not None:
            answered.reading = reading
        for message in stored:
            self._fan_out(conversation_id, message.to_frame())
        return stored

    async def post_customer_message(
        self,
        conversation_id: str,
        text: str,
        client_id: str,
        payload: Optional[str],
        read: Read,
    ) -> Tuple[Message, bool, Optional[Any]]:
        """Stores a customer message and runs `read` in the same transaction (one trip to the database thread),
        then pushes the echo; (message, duplicate, what `read` found)."""
        message, duplicate, found = await self.run_turn(
            self.store.append_and_read, conversation_id, "customer", text, client_id, payload, None, read
        )
        if not duplicate:
            self._fan_out(conversation_id, message.to_frame())
        return message, duplicate, found

    async def finish(self, message: Message, handling: str) -> bool:
        """Marks a customer message answered, to_agent or handed_over (store.finish)."""
        return await self.run_blocking(self.store.finish, message.id, handling)

    async def release(self, message: Message, retry_in_seconds: float) -> None:
        """Leaves a pending message for another try after `retry_in_seconds`."""
        await self.run_blocking(self.store.release, message.id, retry_in_seconds)

    async def renew(self, message_ids: List[str]) -> None:
        """Keeps the leases of the pending messages this gateway is handling."""
        await self.run_blocking(self.store.renew, message_ids)

    async def claim_unhandled(self, limit: int = 50) -> List[Message]:
        """Pending messages nobody holds any more, now held here (store.claim_unhandled)."""
        return await self.run_blocking(self.store.claim_unhandled, limit)

    def set_typing(self, conversation_id: str, on: bool) -> None:
        """Shows or hides the typing indicator in every client of the conversation. The dots last only while this
        gateway waits for the bot, so they are not kept in the shared live state: writing them there twice a slow
        turn cost the most when the bot was slowest (a busy hour). A client that connects meanwhile to another
        gateway sees the answer without the dots."""
        state = self.live(conversation_id)
        if state.typing != on:
            state.typing = on
            self._fan_out(conversation_id, {"type": "typing", "on": on})
        self._forget_if_idle(conversation_id)

    def set_notice(self, conversation_id: str, notice: Optional[Dict[str, Any]]) -> None:
        """Sets (or clears, with None) the conversation's active notice and tells its clients."""
        state = self.live(conversation_id)
        if notice is not None:
            state.notice = notice
            self._changed(conversation_id)
            self._fan_out(conversation_id, {"type": "notice", **notice})
        elif state.notice is not None:
            state.notice = None
            self._changed(conversation_id)
            self._fan_out(conversation_id, {"type": "notice", "code": "bot_available", "text": ""})
        self._forget_if_idle(conversation_id)

    def push(self, conversation_id: str, frame: Dict[str, Any]) -> None:
        """Sends a frame that is not a stored message (handoff state, queue place, forms) to the clients."""
        self._fan_out(conversation_id, frame)

    def subscribe(self, conversation_id: str, subscriber: Subscriber) -> None:
        """From now on `subscriber` (anything with put_nowait) receives every frame pushed to the conversation."""
        self.fan_out.subscribe(conversation_id, subscriber)

    def unsubscribe(self, conversation_id: str, subscriber: Subscriber) -> None:
        """Stops delivering to `subscriber`; forgets idle live state."""
        self.fan_out.unsubscribe(conversation_id, subscriber)
        state = self._live.get(conversation_id)
        if state is not None and not self.fan_out.has_subscribers(conversation_id) and state.is_idle():
            self._live.pop(conversation_id, None)

    def connected_count(self) -> int:
        """Conversations with at least one client connected here (the consoles' own channel left out)."""
        return sum(1 for conversation_id in self.fan_out.followed() if not conversation_id.startswith("#"))

    async def wait_for_change(self, conversation_id: str, timeout: float) -> None:
        """Returns when something is pushed to the conversation, or after `timeout` seconds."""
        await self.fan_out.wait_for_change(conversation_id, timeout)

    def _fan_out(self, conversation_id: str, frame: Dict[str, Any]) -> None:
        self.fan_out.publish(conversation_id, frame)
