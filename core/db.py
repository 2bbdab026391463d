"""The product's database: one SQLAlchemy engine per process, schema kept current by Alembic (migrations/).

SQLite (`var/shop.db`) by default; PostgreSQL or any SQLAlchemy URL through
`database.url` in settings.yml or `SHOP_DATABASE_URL`.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import QueuePool

from core.settings import PROJECT_ROOT, project_path, settings

# the one MetaData every table of the product is defined on (bot/gateway/store.py, handoff/schema.py,
# analytics/events.py, orders/demo_schema.py); Alembic's env.py targets it, the migrations in
# migrations/versions/ create it
metadata = MetaData()
# PostgreSQL advisory lock taken while migrating (any constant the product's other locks do not use)
MIGRATION_LOCK = 7_140_301


def database_url() -> str:
    """The configured URL, with a relative SQLite path taken from the project root."""
    url = str(settings().get("database", {}).get("url") or "sqlite:///var/shop.db")
    return absolute_sqlite_url(url)


def absolute_sqlite_url(url: str) -> str:
    """sqlite:///relative/path -> sqlite:////project/relative/path; other URLs unchanged."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        relative = url[len("sqlite:///"):]
        if relative and relative != ":memory:":
            return "sqlite:///" + str(project_path(relative))
    return url


def create_database_engine(url: str) -> Engine:
    """An engine for `url`; SQLite files get their folder created, WAL mode and a busy timeout."""
    if url.startswith("sqlite:///") and ":memory:" not in url:
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    if url.startswith("sqlite"):
        # 30 s busy timeout: concurrent writers (agents taking tickets) wait instead of failing.
        # SQLAlchemy 1.4 opens a new SQLite file connection (and runs the pragmas below) for every
        # transaction unless told to pool them; pooled, a turn reuses the worker thread's connection
        pooling = {} if ":memory:" in url else {"poolclass": QueuePool, "pool_size": 5, "max_overflow": 10}
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, future=True, hide_parameters=True,
            **pooling,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection, _record):  # noqa: ANN001 - SQLAlchemy event signature
            # SQLAlchemy emits BEGIN itself (below), so a transaction can take the write lock up front
            connection.isolation_level = None
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        # SQLAlchemy's own BEGIN, replaced: the driver is in autocommit mode (above), so the dialect says BEGIN
        # itself, straight to the driver. A write transaction (write_transaction) asks for BEGIN IMMEDIATE, so
        # read-then-write transactions (taking a ticket, numbering a message) queue on the busy timeout
        # instead of failing on a stale snapshot. A dialect method, not a "begin" event: any connection event
        # makes SQLAlchemy consult its event dispatch on every statement (a third of a turn's SQL time)
        engine.dialect.do_begin = _sqlite_do_begin
        return engine
    # hide_parameters: a database error's message would otherwise carry the statement's values (a customer's
    # text) into the log line that reports it
    return create_engine(url, pool_pre_ping=False, pool_size=10, max_overflow=20, future=True, hide_parameters=True)


_begin_immediately = threading.local()


def _sqlite_do_begin(dbapi_connection: Any) -> None:
    immediate = getattr(_begin_immediately, "flag", False)
    _begin_immediately.flag = False
    dbapi_connection.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """engine.begin() that holds the write lock from the start on SQLite (elsewhere: a plain transaction)."""
    with engine.connect() as connection:
        # read by _sqlite_do_begin in this thread when the transaction begins, just below
        _begin_immediately.flag = engine.dialect.name == "sqlite"
        try:
            transaction = connection.begin()
        finally:
            _begin_immediately.flag = False
        with transaction:
            yield connection


@contextmanager
def using(engine: Engine, connection: Optional[Connection] = None, write: bool = False) -> Iterator[Connection]:
    """The caller's unit of work when it passes one; otherwise a transaction of its own (write: holding
    the write lock from the start), committed when the block ends."""
    if connection is not None:
        yield connection
    elif write:
        with write_transaction(engine) as own:
            yield own
    else:
        with engine.connect() as own:
            yield own


def upgrade_schema(engine: Engine) -> None:
    """Brings the database to the newest migration (creates it on first use). Each process runs it once
    at start-up (the gateway's create_app, the report and simulator commands), before any store."""
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            # gateway replicas starting together: one migrates, the others wait for it, then find nothing to do
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
