"""Rasa's Redis lock store with each change of a conversation's lock made atomically, in one round trip.

Rasa 3.6's `RedisLockStore` changes a lock by reading it, changing it in Python and writing it back (GET, then
SET). Two Rasa processes issuing tickets for one conversation at the same moment can therefore both write the
lock with only their own ticket: one ticket is lost, two messages of the conversation are handled at once, and the
conversation's events interleave (tests/scaled/test_rasa_processes.py saw a session start in the middle of a
conversation under load). Here every change (issuing a ticket, finishing one, dropping expired ones, deleting the
lock when nobody waits) is written with a compare-and-set script: the new lock is stored only if the stored one is
still the one the change was computed from; otherwise the script answers with the stored one and the change is
computed again from it. Rasa's own ticket logic (`TicketLock`) decides every change.

Round trips: a message usually finds no lock (the previous one of the conversation was finished and deleted), so
its ticket is issued against "no lock" without reading first, it holds the lock at once, and its finish is
computed from what the issue wrote: two calls to Redis a message (Rasa's store: five or more; the WATCH, GET,
MULTI/EXEC version before this: seven). Rasa's lock calls are blocking and run on its event loop, so each saved
round trip is time every other conversation does not wait. A message that waits for its turn uses Rasa's loop.

Configured in the endpoints file (bot/rasa_endpoints.py): `lock_store: {type: bot.rasa_lock_store.AtomicRedisLockStore,
url, port, db, key_prefix}`.
"""

from __future__ import annotations

import json
from contextlib import asynccontextmanager
from typing import Any, AsyncGenerator, Callable, Optional, Tuple, TypeVar, Union

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

T = TypeVar("T")

# what a conversation's key holds when it holds no lock, as the script compares it (a lock is never empty JSON)
NO_LOCK = ""
# KEYS[1]: the lock's key; ARGV[1]: the value the change was computed from (NO_LOCK: none); ARGV[2]: the new value
# (NO_LOCK: delete). Answers {1} when written, else {0, the value stored now}.
_COMPARE_AND_SET = """
local stored = redis.call('GET', KEYS[1]) or ''
if stored ~= ARGV[1] then
  return {0, stored}
end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], ARGV[2])
end
return {1}
"""

Stored = Union[str, bytes]


class AtomicRedisLockStore(RedisLockStore):
    """RedisLockStore whose read-change-write steps are compare-and-set scripts."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, **kwargs: Any) -> None:
        if endpoint_config is not None:
            kwargs = {"host": endpoint_config.url or "localhost", **endpoint_config.kwargs, **kwargs}
        super().__init__(**kwargs)
        # EVALSHA, loaded again by redis-py when Redis restarted and forgot it
        self._compare_and_set = self.red.register_script(_COMPARE_AND_SET)

    def _change(self, conversation_id: str, change: Callable[[TicketLock], T], create: bool = False,
                stored: Optional[Stored] = None) -> Tuple[Optional[T], Stored]:
        """Runs `change` on the stored lock (a new one when `create`; nothing happens when there is none and not
        `create`) and stores the result unless the lock changed meanwhile, in which case it runs again on the
        lock stored now. `stored`: the value the caller believes is stored (None: read it first). Returns what
        `change` returned (None if nothing was changed) and the value stored afterwards."""
        key = self.key_prefix + conversation_id
        if stored is None:
            stored = self.red.get(key) or NO_LOCK
        while True:
            if not stored and not create:
                return None, NO_LOCK
            lock = TicketLock.from_dict(json.loads(stored)) if stored else TicketLock(conversation_id)
            result = change(lock)
            new = lock.dumps() if lock.tickets else NO_LOCK
            answer = self._compare_and_set(keys=[key], args=[stored, new])
            if answer[0] == 1:
                return result, new
            stored = answer[1]  # another process changed the lock: compute the change again from its value

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        """A new ticket, added to the lock atomically (Rasa's GET then SET could lose it)."""
        return self._issue(conversation_id, lock_lifetime)[0]

    def _issue(self, conversation_id: str, lock_lifetime: float) -> Tuple[int, Stored]:
        try:
            # most messages find no lock: issue against "no lock" and let the script say otherwise
            ticket, stored = self._change(conversation_id, lambda lock: lock.issue_ticket(lock_lifetime),
                                          create=True, stored=NO_LOCK)
        except Exception as error:  # noqa: BLE001 - Rasa's own contract: any failure to issue is a LockError
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error
        return int(ticket), stored

    @asynccontextmanager
    async def lock(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME,
                   wait_time_in_seconds: float = 1) -> AsyncGenerator[TicketLock, None]:
        """Rasa's `LockStore.lock`, without reading the lock again when the issued ticket is served at once, and
        finishing the ticket from the value the issue wrote."""
        ticket, stored = self._issue(conversation_id, lock_lifetime)
        known: Optional[Stored] = stored
        try:
            lock = TicketLock.from_dict(json.loads(stored))
            if lock.is_locked(ticket):
                known = None  # others change the lock while this ticket waits: read it when finishing
                lock = await self._acquire_lock(conversation_id, ticket, wait_time_in_seconds)
            yield lock
        finally:
            self._change(conversation_id, lambda lock: lock.remove_ticket_for(ticket), stored=known)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        """Removes the ticket (and the lock, when it was the last) atomically."""
        self._change(conversation_id, lambda lock: lock.remove_ticket_for(ticket_number))

    def update_lock(self, conversation_id: str) -> None:
        """Drops expired tickets atomically."""
        self._change(conversation_id, lambda lock: lock.remove_expired_tickets())

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Removes the ticket, and the lock when nobody else waits, atomically (Rasa's separate steps could
        delete a lock another process had just added its ticket to)."""
        self.finish_serving(conversation_id, ticket_number)
