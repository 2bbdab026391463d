"""The product's tables, declared on core.db's one MetaData, are exactly what the migrations create."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import analytics.events  # noqa: F401 - registers conversation_events
import bot.gateway.personal_data  # noqa: F401 - registers privacy_actions
import bot.gateway.store  # noqa: F401 - registers conversations and messages
import handoff.schema  # noqa: F401 - registers agents, agent_sessions and tickets
import orders.demo_schema  # noqa: F401 - registers the demo order system's tables
from core.db import create_database_engine, metadata, upgrade_schema


def test_the_migrations_create_every_declared_table_index_and_key_and_nothing_else(tmp_path):
    engine = create_database_engine(f"sqlite:///{tmp_path / 'schema.db'}")
    upgrade_schema(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    engine.dispose()
    assert sorted(metadata.tables) == [
        "agent_sessions", "agents", "audit_log", "conversation_events", "conversations", "demo_order_requests",
        "demo_orders", "messages", "privacy_actions", "resume_tokens", "tickets",
    ]
    assert differences == [], f"migrations/ and the table declarations disagree: {differences}"
