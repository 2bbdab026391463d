"""Alembic environment: the database URL comes from the product's settings, or a connection is handed in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

# every table module registers on core.db.metadata: Alembic compares the migrations against all of them
import analytics.events  # noqa: F401, E402
import bot.gateway.personal_data  # noqa: F401, E402
import bot.gateway.store  # noqa: F401, E402
import handoff.schema  # noqa: F401, E402
import orders.demo_schema  # noqa: F401, E402
from core.db import metadata

config = context.config
target_metadata = metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    from core.db import database_url

    engine = create_engine(database_url())
    with engine.begin() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run_migrations()
