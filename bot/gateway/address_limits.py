"""Abuse limits per client address: new conversations, messages, left messages and console logins.

The per-conversation limit (rate_limit.py) stops one chat from flooding the bot, but a new conversation starts
with a full bucket; these limits count everything one address does, whatever conversation it names. Each is a
token bucket of rate_limit.py (in this process for one gateway, in Redis when `gateway.redis_url` is set, so
replicas count together). The address is the peer's, or, when the peer is a trusted proxy (nginx), the
nearest address in X-Forwarded-For that is not a trusted proxy: a client can write anything at the start of
that header, only what our own proxies appended is believed. IPv6 clients are counted per /64, which one
customer's router usually hands out whole.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

from aiohttp import web

from bot.gateway.protocol import ProtocolError
from bot.gateway.rate_limit import Limiter

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

# what each limit counts (GatewayConfig's address_<kind>_burst and address_<kind>_per_minute)
KINDS = ("conversations", "messages", "leave_messages", "logins")

# what a gateway started for a load test or a test suite runs with: many customers from 127.0.0.1, so no
# per-address limit is reached (the limits themselves are tested in tests/gateway/test_address_limits.py)
LOAD_TEST_ENVIRONMENT: Dict[str, str] = {
    f"SHOP_GATEWAY_ADDRESS_{kind.upper()}_{field}": "1000000" for kind in KINDS for field in ("BURST", "PER_MINUTE")
}

LOGIN_TEXT = "登录尝试过于频繁，请 {seconds} 秒后再试。"


@dataclass(frozen=True)
class Budget:
    """A burst, then `per_minute` a minute."""

    burst: int
    per_minute: float


def trusted_networks(setting: str) -> List[Network]:
    """`gateway.trusted_proxies` (comma-separated addresses or networks) as networks."""
    networks = []
    for item in (part.strip() for part in setting.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(
                f"gateway.trusted_proxies: {item!r} is not an IP address or network (e.g. 127.0.0.1,10.0.0.0/8)"
            ) from None
    return networks


def _ip(text: str) -> Optional[Union[ipaddress.IPv4Address, ipaddress.IPv6Address]]:
    try:
        address = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _key(address: Union[ipaddress.IPv4Address, ipaddress.IPv6Address]) -> str:
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def client_address(request: web.BaseRequest, trusted: Sequence[Network]) -> str:
    """Who the limits count: the peer, or behind trusted proxies the nearest untrusted X-Forwarded-For hop."""
    peer = _ip(request.remote or "")
    if peer is None:
        return request.remote or "unknown"

    def is_trusted(address: Union[ipaddress.IPv4Address, ipaddress.IPv6Address]) -> bool:
        return any(address in network for network in trusted)

    if not is_trusted(peer):
        return _key(peer)
    hops = [hop for value in request.headers.getall("X-Forwarded-For", ()) for hop in value.split(",")]
    for hop in reversed(hops):
        address = _ip(hop)
        if address is None:
            # garbage in the header: nothing left of it can be believed, the last proxy's peer is counted
            break
        if not is_trusted(address):
            return _key(address)
    return _key(peer)


class AddressLimits:
    """One token bucket per kind and client address."""

    def __init__(self, limiters: Dict[str, Limiter], trusted: Sequence[Network] = ()) -> None:
        self.limiters = limiters
        self.trusted = list(trusted)

    @classmethod
    def build(cls, budgets: Dict[str, Budget], trusted_proxies: str,
              make_limiter: Callable[[str, Budget], Limiter]) -> AddressLimits:
        """A limiter per kind from `make_limiter(kind, budget)` (in memory or in Redis)."""
        for kind, budget in budgets.items():
            if budget.burst < 1 or budget.per_minute <= 0:
                raise ValueError(f"gateway.address_{kind}_burst must be >= 1 and "
                                 f"gateway.address_{kind}_per_minute > 0")
        return cls({kind: make_limiter(kind, budget) for kind, budget in budgets.items()},
                   trusted_networks(trusted_proxies))

    def address_of(self, request: web.BaseRequest) -> str:
        """The client address of `request` (see client_address)."""
        return client_address(request, self.trusted)

    def checks(self, kind: str, address: Optional[str]) -> List[Tuple[Limiter, str]]:
        """The (limiter, key) that counts `address` doing one more `kind`, for rate_limit.take_in_turn; none for no
        address (the gateway's own work) or a kind without a limiter."""
        limiter = self.limiters.get(kind)
        return [] if address is None or limiter is None else [(limiter, address)]

    async def wait(self, kind: str, address: Optional[str]) -> int:
        """0 when `address` may do one more `kind` (a token is taken), else the seconds to wait. No address
        (the gateway's own work, e.g. the pending sweep) is never limited, nor a kind without a limiter."""
        limiter = self.limiters.get(kind)
        if address is None or limiter is None:
            return 0
        allowed, wait = await limiter.check(address)
        return 0 if allowed else max(1, wait)

    async def new_conversation(self, address: Optional[str]) -> None:
        """Refuses (too_many_conversations) an address that started too many conversations lately."""
        wait = await self.wait("conversations", address)
        if wait:
            raise ProtocolError("too_many_conversations", seconds=wait)

    async def leave_message(self, address: Optional[str]) -> None:
        """Refuses (too_many_left_messages) an address that left too many messages (each is a ticket)."""
        wait = await self.wait("leave_messages", address)
        if wait:
            raise ProtocolError("too_many_left_messages", seconds=wait)


    async def login(self, address: Optional[str]) -> int:
        """0 when `address` may try one more console login, else the seconds to wait."""
        return await self.wait("logins", address)


def too_many_requests(code: str, text: str, seconds: int) -> web.HTTPTooManyRequests:
    """A 429 in the console API's error style ({"error", "message"}), with Retry-After."""
    body = json.dumps({"error": code, "message": text, "retry_after": seconds}, ensure_ascii=False)
    return web.HTTPTooManyRequests(text=body, content_type="application/json",
                                   headers={"Retry-After": str(seconds)})
