"""SQL run straight on the database driver in autocommit, for the few writes made on every customer message.

On PostgreSQL a customer turn's two writes through SQLAlchemy took eight round trips (BEGIN, two statements,
COMMIT, twice) and 1.7 ms of the gateway's CPU, most of it SQLAlchemy's own work per statement. Here each write
is one `execute` of its statements written out once: in autocommit, PostgreSQL runs the statements of one
execute as one transaction, so a write is one round trip (docs/benchmarks.md: 0.3 ms of CPU a turn).

Connections come from the engine (its URL and driver) and stay open in this object's own small pool, in
autocommit, apart from the engine's pool, so SQLAlchemy's transactions elsewhere are unchanged. Errors come
out as SQLAlchemy's (an `IntegrityError` for a unique key, say). A connection found dropped (the database
restarted) is closed, with every connection opened before it, and the write is tried once more on a new one:
every write made here must be safe to repeat (a unique key, or a condition on the row it changes, refuses a
second copy).

Each statement is prepared on a connection the first time it is sent there (`PREPARE`, a round trip of its own,
once per connection and statement text) and executed by name from then on: under load PostgreSQL spent about
45% of its CPU parsing, analysing and planning these same few statements again on every message
(docs/benchmarks.md). A statement PostgreSQL will not prepare (a parameter whose type it cannot tell), or one of
a new shape once MAX_PREPARED texts are prepared, is sent as it is, every time.
"""

from __future__ import annotations

import logging
import re
import threading
import weakref
from collections import deque, namedtuple
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Deque, Dict, Iterator, List, Mapping, Optional, Tuple, Union

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Select

logger = logging.getLogger(__name__)

# a named parameter as psycopg2 writes it in: %(name)s
_PARAMETER = re.compile(r"%\((\w+)\)s")
# statement texts prepared at most (on every connection): beyond, a statement of a new shape is sent as it is
MAX_PREPARED = 200


@dataclass(frozen=True)
class Read:
    """A query that runs beside a write, in its transaction: a statement built once, its parameters, and what
    its first row becomes. Runs on a SQLAlchemy connection (`run`) or after a write on the driver
    (`DriverConnections.write_and_read`)."""

    statement: Select
    parameters: Mapping[str, Any]
    convert: Callable[[Any], Any]

    def run(self, connection: Any) -> Optional[Any]:
        """The converted first row on a SQLAlchemy connection, or None."""
        row = connection.execute(self.statement, dict(self.parameters)).first()
        return self.convert(row) if row is not None else None


@dataclass
class _Compiled:
    sql: str
    defaults: Dict[str, Any]
    row_type: Optional[type] = None


@dataclass
class _Connection:
    driver: Any
    generation: int
    # the statement texts prepared on this connection
    prepared: set = field(default_factory=set)


@dataclass(frozen=True)
class _Preparable:
    """A statement as PostgreSQL prepares it ($1, $2, ...) and the call that executes it by name."""

    name: str
    prepare: str
    execute: str


class DriverConnections:
    """Autocommit connections of the engine's driver (PostgreSQL's psycopg2), for writes of one round trip."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._idle: Deque[_Connection] = deque()
        self._open: List[_Connection] = []
        self._lock = threading.Lock()
        # connections opened before the last dropped one are not used again (a database restart drops them all)
        self._generation = 0
        # by statement (a statement compares by identity)
        self._compiled: Dict[Select, _Compiled] = {}
        self._closed = False
        # how many times a statement list was sent (tests and benchmarks count a turn's round trips), and how
        # many statements were prepared on a connection (a round trip each, once per connection and statement)
        self.round_trips = 0
        self.prepares = 0
        # by statement text (MAX_PREPARED at most): how it is prepared and executed; None: PostgreSQL would not
        # prepare it
        self._preparables: Dict[str, Optional[_Preparable]] = {}
        # connections still open when this object is dropped without close() are closed then
        weakref.finalize(self, _close_all, self._open)

    def _connect(self) -> _Connection:
        dialect = self.engine.dialect
        args, kwargs = dialect.create_connect_args(self.engine.url)
        try:
            driver = dialect.connect(*args, **kwargs)
        except dialect.dbapi.Error as error:
            raise DBAPIError.instance(None, None, error, dialect.dbapi.Error, connection_invalidated=True,
                                      dialect=dialect) from error
        driver.autocommit = True
        connection = _Connection(driver, self._generation)
        with self._lock:
            self._open.append(connection)
        return connection

    def _discard(self, connection: _Connection) -> None:
        with self._lock:
            if connection in self._open:
                self._open.remove(connection)
        try:
            connection.driver.close()
        except Exception:  # noqa: BLE001 - a dropped connection may refuse even to close
            pass

    def _take(self) -> _Connection:
        while True:
            try:
                connection = self._idle.pop()
            except IndexError:
                return self._connect()
            if connection.generation == self._generation:
                return connection
            self._discard(connection)

    def _give_back(self, connection: _Connection) -> None:
        if self._closed or connection.generation != self._generation:
            self._discard(connection)
        else:
            self._idle.append(connection)

    @contextmanager
    def _cursor(self, statements: List[str], parameters: Mapping[str, Any],
                repeat_on_drop: bool = True) -> Iterator[Any]:
        for attempt in (1, 2):
            connection = self._take()
            cursor = connection.driver.cursor()
            try:
                sql = "; ".join(self._by_name(connection, cursor, statement) for statement in statements)
                if self._execute(connection, cursor, sql, parameters, last=attempt == 2 or not repeat_on_drop):
                    yield cursor
                    return
            finally:
                cursor.close()
                self._give_back(connection)

    def _by_name(self, connection: _Connection, cursor: Any, statement: str) -> str:
        """`statement` as an EXECUTE of its prepared form on `connection` (prepared here first if it is not yet),
        or as it is when PostgreSQL will not prepare it."""
        preparable = self._preparables.get(statement)
        if preparable is not None and statement in connection.prepared:
            return preparable.execute
        if statement not in self._preparables:
            with self._lock:  # names are unique on every connection
                if statement not in self._preparables and len(self._preparables) < MAX_PREPARED:
                    self._preparables[statement] = _preparable(statement, f"shop_{len(self._preparables) + 1}")
            preparable = self._preparables.get(statement)
        if preparable is None:
            return statement
        dbapi = self.engine.dialect.dbapi
        try:
            cursor.execute(preparable.prepare)
        except dbapi.Error as error:
            if self.engine.dialect.is_disconnect(error, connection.driver, cursor):
                return statement  # the execute that follows meets the dropped connection and says so
            logger.warning("PostgreSQL would not prepare a statement; it is sent as it is from now on: %s (%s)",
                           error, statement)
            self._preparables[statement] = None
            return statement
        self.prepares += 1
        connection.prepared.add(statement)
        return preparable.execute

    def _execute(self, connection: _Connection, cursor: Any, sql: str, parameters: Mapping[str, Any],
                 last: bool) -> bool:
        """True when it ran; False when the connection turned out dropped and this was not the last try (every
        write here may be repeated: a unique key, or a condition on the row it changes, refuses a second copy)."""
        dbapi = self.engine.dialect.dbapi
        self.round_trips += 1
        try:
            cursor.execute(sql, parameters)
            return True
        except dbapi.Error as error:
            dropped = self.engine.dialect.is_disconnect(error, connection.driver, cursor)
            if dropped:
                with self._lock:
                    self._generation = max(self._generation, connection.generation + 1)
                if not last:
                    return False
            raise DBAPIError.instance(sql, parameters, error, dbapi.Error, hide_parameters=self.engine.hide_parameters,
                                      connection_invalidated=dropped, dialect=self.engine.dialect) from error

    def execute(self, sql: Union[str, List[str]], parameters: Mapping[str, Any], repeat_on_drop: bool = True) -> int:
        """Runs `sql` (one or more statements, one transaction; a list: each statement prepared on its own) in one
        round trip; the rows the last changed. With `repeat_on_drop` False, a write that finds its connection
        dropped is not tried again: the error says `connection_invalidated`."""
        with self._cursor([sql] if isinstance(sql, str) else sql, parameters, repeat_on_drop) as cursor:
            return cursor.rowcount

    def read(self, read: Read) -> Optional[Any]:
        """`read`'s converted first row, or None."""
        return self.write_and_read("", {}, read)

    def write_and_read(self, sql: str, parameters: Mapping[str, Any], read: Read,
                       repeat_on_drop: bool = True) -> Optional[Any]:
        """Runs `sql` and then `read`'s query in one round trip and one transaction; the read's converted first
        row, or None. `parameters` must not use the names of the read's parameters. With `repeat_on_drop` False,
        a write that finds its connection dropped is not tried again (the caller checks what was stored): the
        error says `connection_invalidated`."""
        compiled = self._compile(read)
        both = {**parameters, **compiled.defaults, **read.parameters}
        with self._cursor([sql, compiled.sql] if sql else [compiled.sql], both, repeat_on_drop) as cursor:
            row = cursor.fetchone()
            if row is None:
                return None
            return read.convert(_row_type(compiled, cursor)(*row))

    def read_all(self, read: Read) -> List[Any]:
        """Every row of `read`'s query, each converted, in one round trip."""
        compiled = self._compile(read)
        with self._cursor([compiled.sql], {**compiled.defaults, **read.parameters}) as cursor:
            rows = cursor.fetchall()
            row_type = _row_type(compiled, cursor)
        return [read.convert(row_type(*row)) for row in rows]

    def _compile(self, read: Read) -> _Compiled:
        found = self._compiled.get(read.statement)
        if found is None:
            # IN lists written out as parameters of their own, with their values as defaults (writing them out
            # needs a value for every parameter: None until the read's own are given)
            compiled = read.statement.params(**{name: None for name in read.parameters}).compile(
                dialect=self.engine.dialect, compile_kwargs={"render_postcompile": True})
            found = self._compiled[read.statement] = _Compiled(str(compiled), dict(compiled.params))
        return found

    def close(self) -> None:
        """Closes every connection; one still in use closes when its write ends."""
        self._closed = True
        with self._lock:
            idle = list(self._idle)
            self._idle.clear()
        for connection in idle:
            self._discard(connection)


def _preparable(statement: str, name: str) -> Optional[_Preparable]:
    """How `statement` (one statement, psycopg2's named parameters) is prepared and executed by `name`; None for
    more than one statement."""
    if ";" in statement:
        return None
    numbers: Dict[str, int] = {}

    def positional(match: re.Match) -> str:
        return f"${numbers.setdefault(match.group(1), len(numbers) + 1)}"

    # sent without parameters, so psycopg2 leaves the text alone: an escaped % is written as itself
    prepare = f"PREPARE {name} AS {_PARAMETER.sub(positional, statement)}".replace("%%", "%")
    arguments = ", ".join(f"%({parameter})s" for parameter in numbers)
    return _Preparable(name, prepare, f"EXECUTE {name}({arguments})" if numbers else f"EXECUTE {name}")


def _row_type(compiled: _Compiled, cursor: Any) -> type:
    # rows by column name, as SQLAlchemy's are: made once per statement from the first cursor that ran it
    if compiled.row_type is None:
        compiled.row_type = namedtuple("Row", [column[0] for column in cursor.description])  # type: ignore[misc]
    return compiled.row_type


def _close_all(connections: List[_Connection]) -> None:
    for connection in list(connections):
        try:
            connection.driver.close()
        except Exception:  # noqa: BLE001 - closing what may be dropped already
            pass


def driver_values(rows: List[Mapping[str, Any]], columns: Tuple[str, ...], prefix: str,
                  casts: Mapping[str, str]) -> Tuple[str, Dict[str, Any]]:
    """`(...), (...)` of a VALUES list for `rows` with a named parameter per value (`prefix`, row number, column),
    each cast as `casts` says; the SQL and its parameters."""
    parts, parameters = [], {}
    for number, row in enumerate(rows):
        names = []
        for column in columns:
            name = f"{prefix}{number}_{column}"
            parameters[name] = row[column]
            names.append(f"%({name})s{casts.get(column, '')}")
        parts.append("(" + ", ".join(names) + ")")
    return ", ".join(parts), parameters
