"""Customers' resume tokens: the secret that lets one browser go on with its conversation.

The conversation id is public (agents, supervisors, the CSV export and logs see it); what proves a browser
is the customer's is a random token the gateway gives it in its first `welcome` and that it sends on every
(re)connect and HTTP call (docs/chat-protocol.md). Only the token's SHA-256 is kept: the token is 256 random
bits, so a plain hash cannot be reversed by guessing and needs no salt or slow hash, and a stolen database
holds no usable credential. A conversation may have several tokens: a verified customer who signs in on
another device is given one there (their signature, not a token, proves them), and the newest few are kept.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timezone
from typing import Optional

from sqlalchemy import Column, DateTime, ForeignKey, String, Table, delete, select
from sqlalchemy.engine import Connection

from core.db import metadata

# 32 random bytes, 43 URL-safe characters: far beyond the 128 bits that make guessing hopeless
TOKEN_BYTES = 32
# a token longer than this is not one of ours (a hello or a header is refused before hashing)
TOKEN_MAX_LENGTH = 128
# tokens kept per conversation (browsers and devices of one customer); an older one stops working and its
# browser starts a new conversation, or, signed in, is given a new token
TOKENS_PER_CONVERSATION = 10

resume_tokens = Table(
    "resume_tokens",
    metadata,
    # hex SHA-256 of the token: looked up by itself
    Column("token_hash", String(64), primary_key=True),
    # erasing a conversation erases its tokens
    Column("conversation_id", String(40), ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


def new_token() -> str:
    """A fresh resume token (only its hash is stored)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """The stored form of a token: hex SHA-256."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def is_well_formed(token: object) -> bool:
    """A string that could be a token: non-empty, not absurdly long, and ASCII (tokens are URL-safe base64; a raw
    byte in a header reaches us as a lone surrogate, which could not even be hashed)."""
    return isinstance(token, str) and 0 < len(token) <= TOKEN_MAX_LENGTH and token.isascii()


def store_token(connection: Connection, conversation_id: str, hashed: str) -> None:
    """Keeps a token's hash for the conversation, dropping the conversation's oldest beyond the limit."""
    connection.execute(resume_tokens.insert().values(
        token_hash=hashed, conversation_id=conversation_id, created_at=datetime.now(timezone.utc)))
    kept = (
        select(resume_tokens.c.token_hash).where(resume_tokens.c.conversation_id == conversation_id)
        .order_by(resume_tokens.c.created_at.desc()).limit(TOKENS_PER_CONVERSATION)
    ).scalar_subquery()
    connection.execute(delete(resume_tokens).where(
        resume_tokens.c.conversation_id == conversation_id, resume_tokens.c.token_hash.not_in(kept)))


def conversation_of(connection: Connection, hashed: str) -> Optional[str]:
    """The conversation a token's hash opens, or None."""
    return connection.execute(
        select(resume_tokens.c.conversation_id).where(resume_tokens.c.token_hash == hashed)
    ).scalar()

