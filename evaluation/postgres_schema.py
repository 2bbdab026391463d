"""A schema of its own on a PostgreSQL server, for a test or a benchmark that must not touch anything else
there: created empty, handed over as a URL whose connections work in it, dropped afterwards."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import create_engine, text


@contextmanager
def fresh_schema(base_url: str, prefix: str = "test") -> Iterator[str]:
    """`base_url` with its connections set to a new schema (search_path), which is dropped when the block ends."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    # pinged before use: a fault test may have restarted PostgreSQL meanwhile
    admin = create_engine(base_url, future=True, pool_pre_ping=True)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in base_url else "?"
    try:
        yield f"{base_url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
