"""Agent and supervisor accounts, login sessions and presence; also the `accounts` command line.

    .venv/bin/python -m handoff.accounts add li --name 小李 [--role supervisor] [--password-stdin]
    .venv/bin/python -m handoff.accounts list
    .venv/bin/python -m handoff.accounts password li
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import re
import secrets
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import List, Optional

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from core.db import using
from handoff.passwords import hash_password, verify_password
from handoff.schema import agent_sessions, agents

ROLES = ("agent", "supervisor")
_USERNAME = re.compile(r"^[a-z0-9_.-]{2,64}$")


class AccountError(ValueError):
    """A refused account operation, worded for the person at the command line."""


@dataclass(frozen=True)
class Agent:
    """A person who may log in to the console."""

    id: int
    username: str
    name: str
    role: str
    last_seen_at: Optional[datetime] = None

    def to_json(self, online: bool = False) -> dict:
        return {"id": self.id, "username": self.username, "name": self.name, "role": self.role, "online": online}


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(moment: Optional[datetime]) -> Optional[datetime]:
    # SQLite returns naive datetimes; everything stored is UTC
    return moment.replace(tzinfo=timezone.utc) if moment and moment.tzinfo is None else moment


def _agent(row) -> Agent:
    return Agent(row.id, row.username, row.display_name, row.role, _aware(row.last_seen_at))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class AgentDirectory:
    """Accounts and sessions in SQL (blocking; the gateway calls it from a worker thread)."""

    def __init__(self, engine: Engine, session_hours: float = 12) -> None:
        self.engine = engine
        self.session_lifetime = timedelta(hours=session_hours)

    def add(self, username: str, name: str, password: str, role: str = "agent") -> Agent:
        """Creates an account; refuses duplicates, bad usernames, unknown roles and short passwords."""
        if not _USERNAME.match(username):
            raise AccountError(f"username {username!r}: use 2-64 lower-case letters, digits, '.', '_' or '-'")
        if role not in ROLES:
            raise AccountError(f"role {role!r}: use one of {', '.join(ROLES)}")
        if len(password) < 8:
            raise AccountError("the password must have at least 8 characters")
        try:
            with self.engine.begin() as connection:
                result = connection.execute(
                    insert(agents).values(
                        username=username, display_name=name or username, role=role,
                        password_hash=hash_password(password), created_at=_now(),
                    )
                )
                agent_id = result.inserted_primary_key[0]
        except IntegrityError:
            raise AccountError(f"an account named {username!r} already exists") from None
        return Agent(agent_id, username, name or username, role)

    def set_password(self, username: str, password: str) -> None:
        """Replaces an account's password and ends its sessions."""
        if len(password) < 8:
            raise AccountError("the password must have at least 8 characters")
        agent = self.by_username(username)
        if agent is None:
            raise AccountError(f"no account named {username!r}")
        with self.engine.begin() as connection:
            connection.execute(
                update(agents).where(agents.c.id == agent.id).values(password_hash=hash_password(password))
            )
            connection.execute(delete(agent_sessions).where(agent_sessions.c.agent_id == agent.id))

    def by_username(self, username: str, *, connection: Optional[Connection] = None) -> Optional[Agent]:
        with using(self.engine, connection) as connection:
            row = connection.execute(select(agents).where(agents.c.username == username)).first()
        return _agent(row) if row else None

    def by_id(self, agent_id: int, *, connection: Optional[Connection] = None) -> Optional[Agent]:
        with using(self.engine, connection) as connection:
            row = connection.execute(select(agents).where(agents.c.id == agent_id)).first()
        return _agent(row) if row else None

    def all(self, *, connection: Optional[Connection] = None) -> List[Agent]:
        with using(self.engine, connection) as connection:
            rows = connection.execute(select(agents).order_by(agents.c.username)).all()
        return [_agent(row) for row in rows]

    def log_in(self, username: str, password: str, *, connection: Optional[Connection] = None) -> Optional[tuple]:
        """(token, agent) for the right password, else None. Only the token's hash is stored."""
        with using(self.engine, connection) as connection:
            row = connection.execute(select(agents).where(agents.c.username == username)).first()
        # the hash runs even for unknown users, so timing does not tell which usernames exist
        stored = row.password_hash if row else hash_password("timing-equaliser")
        if not verify_password(password, stored) or row is None:
            return None
        token = secrets.token_urlsafe(32)
        now = _now()
        with self.engine.begin() as connection:
            connection.execute(
                insert(agent_sessions).values(
                    token_hash=_token_hash(token), agent_id=row.id, created_at=now,
                    expires_at=now + self.session_lifetime,
                )
            )
        return token, _agent(row)

    def agent_for_token(self, token: str, *, connection: Optional[Connection] = None) -> Optional[Agent]:
        """The agent whose unexpired session this token is."""
        if not token:
            return None
        with using(self.engine, connection) as connection:
            row = connection.execute(
                select(agents)
                .join(agent_sessions, agent_sessions.c.agent_id == agents.c.id)
                .where(agent_sessions.c.token_hash == _token_hash(token), agent_sessions.c.expires_at > _now())
            ).first()
        return _agent(row) if row else None

    def log_out(self, token: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(delete(agent_sessions).where(agent_sessions.c.token_hash == _token_hash(token)))

    def touch(self, agent_id: int) -> None:
        """Marks the agent as present now (console heartbeat)."""
        with self.engine.begin() as connection:
            connection.execute(update(agents).where(agents.c.id == agent_id).values(last_seen_at=_now()))

    def online_count(self, within_seconds: float, *, connection: Optional[Connection] = None) -> int:
        """Agents seen within the last `within_seconds`."""
        since = _now() - timedelta(seconds=within_seconds)
        with using(self.engine, connection) as connection:
            return int(connection.execute(
                select(func.count()).select_from(agents).where(agents.c.last_seen_at >= since)
            ).scalar() or 0)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password (at least 8 characters): ")
    if first != getpass.getpass("Same password again: "):
        raise AccountError("the two passwords differ")
    return first


def main(argv: Optional[List[str]] = None) -> int:
    """The accounts command line."""
    from core.db import create_database_engine, database_url, upgrade_schema

    parser = argparse.ArgumentParser(prog="python -m handoff.accounts", description="Agent console accounts")
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="create an account")
    add.add_argument("username")
    add.add_argument("--name", default="", help="shown to customers, e.g. 小李")
    add.add_argument("--role", default="agent", choices=ROLES)
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    commands.add_parser("list", help="list accounts")
    password = commands.add_parser("password", help="set a new password (ends the account's sessions)")
    password.add_argument("username")
    password.add_argument("--password-stdin", action="store_true")
    args = parser.parse_args(argv)

    engine = create_database_engine(database_url())
    upgrade_schema(engine)
    directory = AgentDirectory(engine)
    try:
        if args.command == "add":
            agent = directory.add(args.username, args.name, _read_password(args.password_stdin), args.role)
            print(f"Created {agent.role} {agent.username} ({agent.name}).")
        elif args.command == "password":
            directory.set_password(args.username, _read_password(args.password_stdin))
            print(f"Password of {args.username} changed; its sessions were ended.")
        else:
            for agent in directory.all():
                seen = agent.last_seen_at.isoformat(timespec="seconds") if agent.last_seen_at else "never"
                print(f"{agent.username:<20} {agent.role:<11} {agent.name:<12} last seen {seen}")
    except AccountError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
