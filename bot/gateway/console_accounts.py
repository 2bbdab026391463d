"""Console accounts as the gateway runs them: login with throttling and lockout, logout, password changes and
disabling, each ending the account's sessions and closing its open consoles.

Passwords are verified and hashed in a small pool of threads of their own (`console.hash_threads`), never on
the database thread or the event loop, so a flood of guesses does not hold up customers; SQL still runs on
the database thread (`run_blocking`).
"""

from __future__ import annotations

import asyncio
import math
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, Awaitable, Callable, Dict, Tuple, TypeVar

from bot.gateway.console_hub import ConsoleHub
from bot.gateway.console_sessions import SessionCloser
from bot.gateway.console_settings import ConsoleSettings
from bot.gateway.login_throttle import LoginThrottle
from handoff.accounts import Agent, AgentDirectory, check_new_password, token_hash, verify_login
from handoff.passwords import hash_password
from handoff.services import HandoffService

T = TypeVar("T")
RunBlocking = Callable[..., Awaitable[Any]]


class LoginRefused(Exception):
    """A refused login or password change, with the code, Chinese message and HTTP status the API answers."""

    def __init__(self, code: str, message: str, status: int, retry_after: int = 0) -> None:
        super().__init__(message)
        self.code, self.message, self.status, self.retry_after = code, message, status, retry_after


def locked_out(seconds: int) -> LoginRefused:
    """The lockout answer: how many minutes to wait, rounded up."""
    minutes = max(1, math.ceil(seconds / 60))
    return LoginRefused("too_many_attempts", f"登录尝试过多，请 {minutes} 分钟后再试", 429, seconds)


# usernames whose one-at-a-time lock is kept; past this, the idle ones are dropped
CHECKING_LOCKS_KEPT = 1000


class ConsoleAccounts:
    """Logins, logouts, password changes and disabling, for the console and dashboard APIs."""

    def __init__(self, directory: AgentDirectory, run_blocking: RunBlocking, throttle: LoginThrottle,
                 closer: SessionCloser, consoles: ConsoleHub, service: HandoffService, settings: ConsoleSettings,
                 agent_timeout_seconds: float) -> None:
        self.directory = directory
        self.run_blocking = run_blocking
        self.throttle = throttle
        # one password check at a time per username in this gateway, each after the lockout check: guesses
        # sent all at once would otherwise all pass the check before the first failure was counted
        self._checking: Dict[str, asyncio.Lock] = {}
        self.closer = closer
        self.consoles = consoles
        self.service = service
        self.settings = settings
        self.agent_timeout = agent_timeout_seconds
        self._hashing = ThreadPoolExecutor(max_workers=settings.hash_threads, thread_name_prefix="password-hash")
        self._waiting = 0

    async def hashing(self, function: Callable[..., T], *args: Any) -> T:
        """Runs password work in the password threads; refuses at once when too many logins already wait."""
        if self._waiting >= self.settings.hash_queue_limit:
            raise LoginRefused("busy", "登录请求过多，请稍后再试", 429, 1)
        self._waiting += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._hashing, partial(function, *args))
        finally:
            self._waiting -= 1

    def _limits(self, username: str, address: str) -> Tuple[Tuple[str, int], Tuple[str, int]]:
        return (("user:" + username.strip().lower()[:64], self.settings.max_failures_per_username),
                ("addr:" + address, self.settings.max_failures_per_address))

    async def log_in(self, username: str, password: str, address: str) -> Tuple[str, Agent]:
        """(session token, agent) for the right password of an enabled account, not locked out; the stored
        hash is replaced when outdated (scrypt, older argon2 parameters). Raises LoginRefused."""
        limits = self._limits(username, address)
        key = limits[0][0]
        if self._waiting >= self.settings.hash_queue_limit:
            raise LoginRefused("busy", "登录请求过多，请稍后再试", 429, 1)
        if len(self._checking) > CHECKING_LOCKS_KEPT:
            for idle in [k for k, held in self._checking.items() if not held.locked()]:
                del self._checking[idle]
        async with self._checking.setdefault(key, asyncio.Lock()):
            found, new_hash = await self._check_password(limits, username, password)
        if found.agent.disabled:
            raise LoginRefused("account_disabled", "该账号已停用，请联系主管", 403)
        await self.throttle.succeeded(limits[0][0])
        token = await self.run_blocking(self.directory.open_session, found.agent.id, new_hash)
        return token, found.agent

    async def _check_password(self, limits: Tuple[Tuple[str, int], Tuple[str, int]], username: str,
                              password: str) -> Tuple[Any, Any]:
        """(credentials, new hash or None) for the right password; a wrong one is counted, then refused."""
        locked = await self.throttle.locked_for([key for key, _ in limits])
        if locked:
            raise locked_out(locked)
        found = await self.run_blocking(self.directory.credentials, username)
        ok, new_hash = await self.hashing(verify_login, found, password)
        if not ok or found.agent is None:
            # counted before the next guess for this username may check the lockout
            locked = await self.throttle.failed(limits)
            if locked:
                raise locked_out(locked)
            raise LoginRefused("bad_credentials", "用户名或密码错误", 401)
        return found, new_hash

    async def log_out(self, agent: Agent, token: str) -> None:
        """Ends this session and closes its consoles; with no session left the agent is offline at once."""
        last = await self.run_blocking(self.directory.log_out, token)
        self.closer.end(agent.id, token_hash(token))
        if last:
            await self._went_offline()

    async def change_password(self, agent: Agent, old: str, new: str, address: str) -> str:
        """Checks the old password (throttled like a login), stores the new one, ends every session of the
        account and closes its consoles; returns a fresh session token for the browser that asked."""
        check_new_password(new)
        limits = self._limits(agent.username, address)
        locked = await self.throttle.locked_for([key for key, _ in limits])
        if locked:
            raise locked_out(locked)
        found = await self.run_blocking(self.directory.credentials, agent.username)
        ok, _ = await self.hashing(verify_login, found, old)
        if not ok:
            locked = await self.throttle.failed(limits)
            if locked:
                raise locked_out(locked)
            raise LoginRefused("wrong_password", "原密码不正确", 403)
        new_hash = await self.hashing(hash_password, new)
        await self.run_blocking(self.directory.store_new_password, agent.id, new_hash, False)
        self.closer.end(agent.id)
        return await self.run_blocking(self.directory.open_session, agent.id)

    async def set_disabled(self, username: str, disabled: bool) -> Agent:
        """Disables (ending its sessions, closing its consoles, its tickets back to the queue) or enables."""
        agent = await self.run_blocking(self.directory.set_disabled, username, disabled)
        if disabled:
            self.closer.end(agent.id)
            await self._went_offline()
        return agent

    async def _went_offline(self) -> None:
        # the agent's tickets go back to the queue now rather than after agent_timeout_seconds, and every
        # console shows one agent fewer online
        await self.service.requeue_stale(self.agent_timeout)
        await self.consoles.announce_queue_change()

    def close(self, wait: bool = True) -> None:
        """Stops the password threads."""
        self._hashing.shutdown(wait=wait)

