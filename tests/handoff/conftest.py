"""Database fixtures: every queue test runs on SQLite and on the real PostgreSQL of this machine (`database_url`,
tests/conftest.py)."""

from __future__ import annotations

import pytest

from core.db import create_database_engine


@pytest.fixture
def engine(database_url):
    engine = create_database_engine(database_url)
    yield engine
    engine.dispose()
