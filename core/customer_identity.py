"""Verified customers: the shop's server signs who is logged in, the gateway checks the signature.

The shop and the gateway share a secret (`identity.secret`). For a logged-in customer the shop's server
signs the customer id, tier and an expiry time with HMAC-SHA256 and hands the four values to the widget
(docs/verified-customers.md shows the shop's side in Python and Node.js). The gateway trusts a customer id
and a tier only when the signature matches and has not expired; anything else is an anonymous visitor.

Pure functions, no I/O: the gateway, the demo page and the tests share them.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Union

# what the shop may put in a customer id and a tier: printable, short, no separator
_CUSTOMER_ID = re.compile(r"^[A-Za-z0-9_.:@-]{1,64}$")
_TIER = re.compile(r"^[A-Za-z0-9_.-]{0,32}$")
_SIGNATURE = re.compile(r"^[0-9a-f]{64}$")
# a claim valid for longer than this is refused: a leaked claim must not work for ever
MAX_LIFETIME_SECONDS = 7 * 24 * 3600
# tolerated difference between the shop's clock and the gateway's
CLOCK_SKEW_SECONDS = 300


@dataclass(frozen=True)
class VerifiedCustomer:
    """A customer whose id and tier the shop signed."""

    customer_id: str
    tier: str


@dataclass(frozen=True)
class RefusedClaim:
    """A claim that did not verify, and why (for the log; the customer continues as anonymous)."""

    reason: str


def signed_text(customer_id: str, tier: str, expires_at: int) -> bytes:
    """The exact bytes the shop signs: id, tier and expiry joined by newlines (none of them holds one)."""
    return f"{customer_id}\n{tier}\n{int(expires_at)}".encode()


def sign(secret: str, customer_id: str, tier: str, expires_at: int) -> str:
    """The signature the shop's server computes: hex HMAC-SHA256 of `signed_text` under the shared secret."""
    return hmac.new(secret.encode(), signed_text(customer_id, tier, expires_at), hashlib.sha256).hexdigest()


def signed_claim(secret: str, customer_id: str, tier: str = "", lifetime_seconds: int = 24 * 3600,
                 now: Optional[float] = None) -> Dict[str, Any]:
    """The four values the widget passes on, signed now for `lifetime_seconds`."""
    expires_at = int((time.time() if now is None else now) + lifetime_seconds)
    return {"customer_id": customer_id, "tier": tier, "expires_at": expires_at,
            "signature": sign(secret, customer_id, tier, expires_at)}


def verify(secret: str, claim: Any, now: Optional[float] = None) -> Union[VerifiedCustomer, RefusedClaim]:
    """Checks a claim from the widget: the customer if the shop signed it and it is current, else why not."""
    if not secret:
        return RefusedClaim("no_secret")
    if not isinstance(claim, dict):
        return RefusedClaim("malformed")
    customer_id, tier = claim.get("customer_id"), claim.get("tier") or ""
    expires_at, signature = claim.get("expires_at"), claim.get("signature")
    if not isinstance(customer_id, str) or not _CUSTOMER_ID.fullmatch(customer_id):
        return RefusedClaim("malformed")
    if not isinstance(tier, str) or not _TIER.fullmatch(tier):
        return RefusedClaim("malformed")
    if isinstance(expires_at, str) and expires_at.isdigit() and len(expires_at) <= 12:
        expires_at = int(expires_at)  # from a data- attribute
    if not isinstance(expires_at, int) or isinstance(expires_at, bool) or not 0 < expires_at < 10 ** 12:
        return RefusedClaim("malformed")
    if not isinstance(signature, str) or not _SIGNATURE.fullmatch(signature.lower()):
        return RefusedClaim("malformed")
    if not hmac.compare_digest(sign(secret, customer_id, tier, expires_at), signature.lower()):
        return RefusedClaim("bad_signature")
    current = time.time() if now is None else now
    if expires_at < current - CLOCK_SKEW_SECONDS:
        return RefusedClaim("expired")
    if expires_at > current + MAX_LIFETIME_SECONDS + CLOCK_SKEW_SECONDS:
        return RefusedClaim("lifetime_too_long")
    return VerifiedCustomer(customer_id, tier)


def load_or_create_secret(configured: str, path: Path) -> str:
    """The configured secret; without one, a random secret kept in `path` (created on first use, mode 0600),
    so that `make run` works and every process on this machine shares it. Production sets `identity.secret`."""
    if configured:
        return configured
    try:
        stored = path.read_text(encoding="utf-8").strip()
        if stored:
            return stored
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    created = secrets.token_hex(32)
    try:
        with open(path, "x", encoding="utf-8") as handle:  # "x": another process may be creating it too
            handle.write(created)
        path.chmod(0o600)
        return created
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
