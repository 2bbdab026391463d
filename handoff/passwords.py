"""Password hashing: argon2id (argon2-cffi) for every new hash; older scrypt hashes still verify.

Hashes carry their parameters, so a hash made with older or weaker ones is recognised (`needs_rehash`) and
replaced on the account's next successful login.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# OWASP Password Storage Cheat Sheet, argon2id: 19 MiB of memory, 2 iterations, 1 lane (about 40 ms here)
TIME_COST, MEMORY_KIB, PARALLELISM = 2, 19 * 1024, 1

_hasher = PasswordHasher(time_cost=TIME_COST, memory_cost=MEMORY_KIB, parallelism=PARALLELISM)


def hash_password(password: str) -> str:
    """The argon2id hash of `password` for storage ('$argon2id$v=19$m=...,t=...,p=...$salt$hash')."""
    if not password:
        raise ValueError("an empty password cannot be set")
    return _hasher.hash(password)


def verify_password(password: str, stored: str) -> bool:
    """True when `password` matches the stored hash (argon2id, or the scrypt hashes made before it)."""
    if stored.startswith("scrypt$"):
        return _verify_scrypt(password, stored)
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """True for a hash that is not argon2id with the current parameters (scrypt, or older settings)."""
    if not stored.startswith("$argon2id$"):
        return True
    try:
        return _hasher.check_needs_rehash(stored)
    except (InvalidHashError, ValueError):
        return True


@lru_cache(maxsize=1)
def dummy_hash() -> str:
    """A hash of no account's password, verified for unknown usernames so they take as long as known ones."""
    return hash_password("no account has this password")


def _verify_scrypt(password: str, stored: str) -> bool:
    # 'scrypt$n$r$p$salt$hash', as this module wrote them before argon2id
    try:
        _, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)
