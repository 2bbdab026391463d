"""Database fixtures: every queue test runs on SQLite and on the real PostgreSQL of this machine.

PostgreSQL comes from TEST_POSTGRES_URL (`.ci/run` and the Makefile set it);
each test gets its own schema, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text

from core.db import create_database_engine, upgrade_schema


def postgres_url() -> str:
    return os.environ.get("TEST_POSTGRES_URL", "")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A fresh, migrated database URL of each kind."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'handoff.db'}"
        upgrade_schema(create_database_engine(url))
        yield url
        return
    base = postgres_url()
    if not base:
        pytest.skip("TEST_POSTGRES_URL is not set (make test sets it to the local PostgreSQL)")
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, future=True)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in base else "?"
    url = f"{base}{separator}options=-csearch_path%3D{schema}"
    upgrade_schema(create_database_engine(url))
    yield url
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture
def engine(database_url):
    engine = create_database_engine(database_url)
    yield engine
    engine.dispose()
