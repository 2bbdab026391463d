"""Rasa's Redis lock store with each change of a conversation's lock made atomically.

Rasa 3.6's `RedisLockStore` changes a lock by reading it, changing it in Python and writing it back (GET, then
SET). Two Rasa processes issuing tickets for one conversation at the same moment can therefore both write the
lock with only their own ticket: one ticket is lost, two messages of the conversation are handled at once, and the
conversation's events interleave (tests/scaled/test_rasa_processes.py saw a session start in the middle of a
conversation under load). Here every change (issuing a ticket, finishing one, dropping expired ones, deleting the
lock when nobody waits) runs under Redis's optimistic transaction (WATCH, MULTI, EXEC), tried again when another
process changed the lock meanwhile. Waiting for a ticket's turn is Rasa's own code.

Configured in the endpoints file (bot/rasa_endpoints.py): `lock_store: {type: bot.rasa_lock_store.AtomicRedisLockStore,
url, port, db, key_prefix}`.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Optional, TypeVar

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

T = TypeVar("T")


class AtomicRedisLockStore(RedisLockStore):
    """RedisLockStore whose read-change-write steps are Redis transactions."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, **kwargs: Any) -> None:
        if endpoint_config is not None:
            kwargs = {"host": endpoint_config.url or "localhost", **endpoint_config.kwargs, **kwargs}
        super().__init__(**kwargs)

    def _change(self, conversation_id: str, change: Callable[[TicketLock], T], create: bool = False) -> Optional[T]:
        """Runs `change` on the stored lock (a new one when `create`; nothing happens when there is none and not
        `create`) and stores the result in the same transaction: the lock while it holds tickets, else nothing."""
        import redis

        key = self.key_prefix + conversation_id
        with self.red.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    if raw is None and not create:
                        pipe.unwatch()
                        return None
                    lock = TicketLock.from_dict(json.loads(raw)) if raw else TicketLock(conversation_id)
                    result = change(lock)
                    pipe.multi()
                    if lock.tickets:
                        pipe.set(key, lock.dumps())
                    else:
                        pipe.delete(key)
                    pipe.execute()
                    return result
                except redis.WatchError:
                    continue  # another process changed the lock meanwhile: read it again

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = 60) -> int:
        """A new ticket, added to the lock in one transaction (Rasa's GET then SET could lose it)."""
        try:
            return self._change(conversation_id, lambda lock: lock.issue_ticket(lock_lifetime), create=True)
        except Exception as error:  # noqa: BLE001 - Rasa's own contract: any failure to issue is a LockError
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        """Removes the ticket (and the lock, when it was the last) in one transaction."""
        self._change(conversation_id, lambda lock: lock.remove_ticket_for(ticket_number))

    def update_lock(self, conversation_id: str) -> None:
        """Drops expired tickets in one transaction."""
        self._change(conversation_id, lambda lock: lock.remove_expired_tickets())

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Removes the ticket, and the lock when nobody else waits, in one transaction (Rasa's separate steps could
        delete a lock another process had just added its ticket to)."""
        self.finish_serving(conversation_id, ticket_number)
