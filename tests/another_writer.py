"""Another process writing the same SQLite file (the gateway, the event log's thread, the action server): for
tests that a read-then-write transaction waits for the lock instead of failing with "database is locked"."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Any, Dict, Iterator

from sqlalchemy import text

from core.db import create_database_engine


@contextmanager
def writing_meanwhile(url: str, statement: str, params: Dict[str, Any], hold_seconds: float = 0.5) -> Iterator[None]:
    """Inside: another connection has written `statement` and holds its transaction open for `hold_seconds`."""
    other = create_database_engine(url)
    started = threading.Event()

    def write() -> None:
        with other.begin() as connection:
            connection.execute(text(statement), params)
            started.set()
            threading.Event().wait(hold_seconds)

    writer = threading.Thread(target=write)
    writer.start()
    started.wait(5)
    try:
        yield
    finally:
        writer.join(5)
        other.dispose()
