"""Writes straight on PostgreSQL's driver (core/driver_sql.py), on this machine's PostgreSQL: one transaction per
execute, SQLAlchemy's errors, connections reused, and new ones after PostgreSQL drops them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError

from core.driver_sql import DriverConnections, Read, driver_values
from tests.conftest import postgres_schema

NAME = "driver-sql-test"
things = sa.Table("things", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                  sa.Column("kind", sa.String(10)), sa.Column("data", sa.JSON))
_KIND_OF = sa.select(things).where(things.c.id == sa.bindparam("id"), things.c.kind.in_(["a", "b"]))


@pytest.fixture
def engine():
    with postgres_schema() as url:
        engine = sa.create_engine(f"{url}&application_name={NAME}", future=True)
        things.create(engine)
        yield engine
        engine.dispose()


def _backends(engine) -> list:
    with engine.connect() as connection:
        return connection.execute(sa.text(
            "SELECT pid FROM pg_stat_activity WHERE application_name = :n AND pid <> pg_backend_pid()"),
            {"n": NAME}).scalars().all()


def _ids(engine) -> list:
    with engine.connect() as connection:
        return connection.execute(sa.select(things.c.id).order_by(things.c.id)).scalars().all()


def test_the_statements_of_one_execute_are_one_transaction_and_a_unique_key_is_sqlalchemys_error(engine):
    driver = DriverConnections(engine)
    assert driver.execute("INSERT INTO things (id, kind) VALUES (%(i)s, 'a')", {"i": 1}) == 1
    with pytest.raises(IntegrityError):
        # the second statement fails: the first is not kept either
        driver.execute("INSERT INTO things (id, kind) VALUES (2, 'a'); INSERT INTO things (id, kind) VALUES (1, 'b')",
                       {})
    assert _ids(engine) == [1]
    # the same connection goes on after the error
    values, parameters = driver_values([{"id": 3, "data": '{"x": [1, "二"]}'}, {"id": 4, "data": None}],
                                       ("id", "data"), "t", {"data": "::json"})
    assert driver.execute(f"INSERT INTO things (id, data) SELECT * FROM (VALUES {values}) AS v (id, data)",
                          parameters) == 2
    assert _ids(engine) == [1, 3, 4] and len(_backends(engine)) == 1
    driver.close()
    assert _backends(engine) == []


def test_a_read_after_a_write_sees_it_and_comes_back_converted(engine):
    driver = DriverConnections(engine)
    read = Read(_KIND_OF, {"id": 5}, lambda row: (row.id, row.kind, row.data))
    found = driver.write_and_read("INSERT INTO things (id, kind, data) VALUES (%(new)s, 'b', %(d)s::json)",
                                  {"new": 5, "d": '{"订单": 1}'}, read)
    assert found == (5, "b", {"订单": 1})
    assert driver.write_and_read("INSERT INTO things (id, kind) VALUES (%(new)s, 'c')", {"new": 6},
                                 Read(_KIND_OF, {"id": 6}, tuple)) is None  # kind c is not in the IN list
    with engine.connect() as connection:
        assert read.run(connection) == (5, "b", {"订单": 1})
    driver.close()


def test_a_write_that_finds_its_connection_dropped_is_made_once_on_a_new_one(engine):
    driver = DriverConnections(engine)
    driver.execute("INSERT INTO things (id) VALUES (1)", {})
    (first,) = _backends(engine)
    with engine.connect() as connection:
        connection.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": first})
    assert driver.execute("INSERT INTO things (id) VALUES (2)", {}) == 1
    assert _backends(engine) != [first] and len(_backends(engine)) == 1
    assert _ids(engine) == [1, 2]
    driver.close()


def test_an_unreachable_database_is_sqlalchemys_error():
    driver = DriverConnections(sa.create_engine("postgresql://postgres@127.0.0.1:1/test"))
    with pytest.raises(DBAPIError) as raised:
        driver.execute("SELECT 1", {})
    assert raised.value.connection_invalidated and "127.0.0.1" in str(raised.value)
