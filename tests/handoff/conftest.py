"""Database fixtures: every queue test runs on SQLite and on the real PostgreSQL of this machine.

PostgreSQL comes from TEST_POSTGRES_URL (`.ci/run` and the Makefile set it);
each test gets its own schema, dropped afterwards.
"""

from __future__ import annotations

import pytest

from core.db import create_database_engine, upgrade_schema
from tests.conftest import postgres_schema


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A fresh, migrated database URL of each kind."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'handoff.db'}"
        upgrade_schema(create_database_engine(url))
        yield url
        return
    with postgres_schema() as url:
        upgrade_schema(create_database_engine(url))
        yield url


@pytest.fixture
def engine(database_url):
    engine = create_database_engine(database_url)
    yield engine
    engine.dispose()
