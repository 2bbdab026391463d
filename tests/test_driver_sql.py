"""Writes straight on PostgreSQL's driver (core/driver_sql.py), on this machine's PostgreSQL: one transaction per
execute, SQLAlchemy's errors, connections reused, and new ones after PostgreSQL drops them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError

from core import driver_sql
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


def test_every_row_of_a_read_comes_back_converted_in_order_in_one_round_trip(engine):
    driver = DriverConnections(engine)
    driver.execute("INSERT INTO things (id, kind) VALUES (1, 'a'), (2, 'c'), (3, 'b'), (4, 'a')", {})
    of_kinds = sa.select(things.c.id, things.c.kind).where(things.c.kind.in_(["a", "b"]),
                                                            things.c.id >= sa.bindparam("from")).order_by(things.c.id)
    trips = driver.round_trips
    assert driver.read_all(Read(of_kinds, {"from": 2}, lambda row: (row.id, row.kind))) == [(3, "b"), (4, "a")]
    assert driver.round_trips - trips == 1
    assert driver.read_all(Read(of_kinds, {"from": 9}, lambda row: row.id)) == []
    assert driver.read_all(Read(of_kinds, {"from": 0}, lambda row: row.id)) == [1, 3, 4]
    driver.close()


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


def _prepared_on(driver: DriverConnections) -> list:
    """The statements prepared on the driver's one idle connection, as PostgreSQL lists them."""
    connection = driver._idle[-1].driver
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements ORDER BY prepare_time")
        return [row[0] for row in cursor.fetchall()]


def test_a_statement_is_prepared_once_per_connection_and_executed_by_name_after(engine):
    driver = DriverConnections(engine)
    insert = "INSERT INTO things (id, kind, data) VALUES (%(id)s, %(kind)s, %(data)s::json)"
    read = Read(_KIND_OF, {"id": 0}, lambda row: (row.id, row.kind))
    for number in range(1, 4):
        found = driver.write_and_read(insert, {"id": number, "kind": "a", "data": '{"n": "三"}'},
                                      Read(_KIND_OF, {"id": number}, read.convert))
        assert found == (number, "a")
    # the insert and the read, each prepared once on the one connection (with $1, $2...), then run by name
    assert driver.prepares == 2 and driver.round_trips == 3
    prepared = _prepared_on(driver)
    assert len(prepared) == 2 and "VALUES ($1, $2, $3::json)" in prepared[0] and "$1" in prepared[1]
    with engine.connect() as connection:
        assert connection.execute(sa.select(things.c.data).where(things.c.id == 3)).scalar() == {"n": "三"}
    driver.close()


def test_a_statement_that_failed_on_a_unique_key_stays_prepared_and_runs_again(engine):
    driver = DriverConnections(engine)
    insert = "INSERT INTO things (id, kind) VALUES (%(id)s, 'a')"
    driver.execute(insert, {"id": 1})
    with pytest.raises(IntegrityError):
        driver.execute(insert, {"id": 1})
    assert driver.execute(insert, {"id": 2}) == 1 and driver.prepares == 1 and _ids(engine) == [1, 2]
    driver.close()


def test_a_statement_postgresql_will_not_prepare_is_sent_as_it_is(engine, caplog):
    driver = DriverConnections(engine)
    # nothing tells the type of a parameter only tested for NULL: PREPARE refuses it
    untyped = Read(sa.select(things.c.id).where(sa.bindparam("gone").is_(None), things.c.id == sa.bindparam("id")),
                   {"gone": None, "id": 0}, lambda row: row.id)
    driver.execute("INSERT INTO things (id, kind) VALUES (%(id)s, 'a')", {"id": 5})
    for _ in range(2):
        assert driver.write_and_read("", {}, Read(untyped.statement, {"gone": None, "id": 5}, untyped.convert)) == 5
    assert driver.prepares == 1 and caplog.text.count("would not prepare") == 1
    driver.execute("DELETE FROM things WHERE id = %(id)s", {"id": 5})
    # an escaped percent sign in a prepared statement is the percent sign itself
    assert driver.execute("INSERT INTO things (id, kind) SELECT %(id)s, 'a' WHERE 'x%%' LIKE 'x%%'",
                          {"id": 7}) == 1
    assert driver.execute("INSERT INTO things (id, kind) SELECT %(id)s, 'a' WHERE 'x%%' LIKE 'x%%'",
                          {"id": 8}) == 1
    assert driver.prepares == 3 and _ids(engine) == [7, 8]
    driver.close()


def test_a_new_connection_after_a_drop_prepares_its_statements_again(engine):
    driver = DriverConnections(engine)
    insert = "INSERT INTO things (id, kind) VALUES (%(id)s, 'a')"
    driver.execute(insert, {"id": 1})
    with engine.connect() as connection:
        connection.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                   "WHERE application_name = :n AND pid <> pg_backend_pid()"), {"n": NAME})
    driver.execute(insert, {"id": 2})
    assert driver.prepares == 2 and _ids(engine) == [1, 2] and len(_prepared_on(driver)) == 1
    driver.close()


def test_statements_beyond_the_prepared_limit_are_sent_as_they_are(engine, monkeypatch):
    monkeypatch.setattr(driver_sql, "MAX_PREPARED", 1)
    driver = DriverConnections(engine)
    first = "INSERT INTO things (id, kind) VALUES (%(id)s, 'a')"
    second = "INSERT INTO things (id, kind) VALUES (%(id)s, 'b')"
    for number in (1, 2):
        driver.execute(first, {"id": number})
        driver.execute(second, {"id": 10 + number})
    assert driver.prepares == 1 and list(driver._preparables) == [first] and _ids(engine) == [1, 2, 11, 12]
    assert len(_prepared_on(driver)) == 1
    driver.close()
