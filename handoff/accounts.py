"""Agent and supervisor accounts, login sessions and presence; also the `accounts` command line.

    .venv/bin/python -m handoff.accounts add li --name 小李 [--role supervisor] [--password-stdin]
    .venv/bin/python -m handoff.accounts list
    .venv/bin/python -m handoff.accounts password li
    .venv/bin/python -m handoff.accounts disable li      (and `enable li`)
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import re
import secrets
import sys
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import List, Optional, Tuple

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from core.db import using
from handoff.passwords import dummy_hash, hash_password, needs_rehash, verify_password
from handoff.schema import agent_sessions, agents

ROLES = ("agent", "supervisor")
_USERNAME = re.compile(r"^[a-z0-9_.-]{2,64}$")
MIN_PASSWORD, MAX_PASSWORD = 8, 1024


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
    disabled: bool = False

    def to_json(self, online: bool = False) -> dict:
        return {"id": self.id, "username": self.username, "name": self.name, "role": self.role, "online": online,
                "disabled": self.disabled}


@dataclass(frozen=True)
class Credentials:
    """What a login is checked against: the account (None for an unknown username) and its stored hash."""

    agent: Optional[Agent]
    password_hash: str


def check_new_password(password: str) -> None:
    """Refuses passwords that are too short (or absurdly long), worded for the person choosing one."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"the password may have at most {MAX_PASSWORD} characters")


def verify_login(credentials: Credentials, password: str) -> Tuple[bool, Optional[str]]:
    """(right password, a new hash to store or None). CPU-bound: the gateway runs it in its password threads.
    An unknown username is verified against a dummy hash, so it takes as long as a known one."""
    ok = verify_password(password[:MAX_PASSWORD], credentials.password_hash)
    if not ok or credentials.agent is None:
        return False, None
    return True, hash_password(password) if needs_rehash(credentials.password_hash) else None


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(moment: Optional[datetime]) -> Optional[datetime]:
    # SQLite returns naive datetimes; everything stored is UTC
    return moment.replace(tzinfo=timezone.utc) if moment and moment.tzinfo is None else moment


def _agent(row) -> Agent:
    return Agent(row.id, row.username, row.display_name, row.role, _aware(row.last_seen_at),
                 row.disabled_at is not None)


def token_hash(token: str) -> str:
    """How a session token is stored and named (never the token itself)."""
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
        check_new_password(password)
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

    def set_password(self, username: str, password: str) -> Agent:
        """Replaces an account's password (hashed here) and ends its sessions."""
        check_new_password(password)
        agent = self.by_username(username)
        if agent is None:
            raise AccountError(f"no account named {username!r}")
        self.store_new_password(agent.id, hash_password(password))
        return agent

    def store_new_password(self, agent_id: int, new_hash: str, offline: bool = True) -> None:
        """Stores an already computed hash as the account's password and ends every session of the account;
        `offline` also marks it offline (its tickets go back to the queue at the next requeue)."""
        changes = {"password_hash": new_hash, **({"last_seen_at": None} if offline else {})}
        with self.engine.begin() as connection:
            connection.execute(update(agents).where(agents.c.id == agent_id).values(**changes))
            connection.execute(delete(agent_sessions).where(agent_sessions.c.agent_id == agent_id))

    def set_disabled(self, username: str, disabled: bool) -> Agent:
        """Disables (ending its sessions and marking it offline) or enables an account."""
        agent = self.by_username(username)
        if agent is None:
            raise AccountError(f"no account named {username!r}")
        with self.engine.begin() as connection:
            if disabled:
                connection.execute(
                    update(agents).where(agents.c.id == agent.id, agents.c.disabled_at.is_(None))
                    .values(disabled_at=_now(), last_seen_at=None)
                )
                connection.execute(delete(agent_sessions).where(agent_sessions.c.agent_id == agent.id))
            else:
                connection.execute(update(agents).where(agents.c.id == agent.id).values(disabled_at=None))
        return replace(agent, disabled=disabled, last_seen_at=None if disabled else agent.last_seen_at)

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

    def credentials(self, username: str, *, connection: Optional[Connection] = None) -> Credentials:
        """The account and stored hash a login for `username` is checked against; an unknown username gets
        the dummy hash, so checking it costs the same."""
        with using(self.engine, connection) as connection:
            row = connection.execute(select(agents).where(agents.c.username == username[:64])).first()
        if row is None:
            return Credentials(None, dummy_hash())
        return Credentials(_agent(row), row.password_hash)

    def open_session(self, agent_id: int, new_hash: Optional[str] = None) -> str:
        """A new session token for the account (only its hash is stored); `new_hash` replaces the stored
        password hash (a rehash on login)."""
        token = secrets.token_urlsafe(32)
        now = _now()
        with self.engine.begin() as connection:
            if new_hash:
                connection.execute(update(agents).where(agents.c.id == agent_id).values(password_hash=new_hash))
            connection.execute(
                insert(agent_sessions).values(
                    token_hash=token_hash(token), agent_id=agent_id, created_at=now,
                    expires_at=now + self.session_lifetime,
                )
            )
        return token

    def log_in(self, username: str, password: str) -> Optional[Tuple[str, Agent]]:
        """(token, agent) for the right password of an enabled account, else None; rehashes an outdated hash.
        Blocking, all in the calling thread (the gateway splits it: console_accounts.py)."""
        found = self.credentials(username)
        ok, new_hash = verify_login(found, password)
        if not ok or found.agent is None or found.agent.disabled:
            return None
        return self.open_session(found.agent.id, new_hash), found.agent

    def agent_for_token(self, token: str, *, connection: Optional[Connection] = None) -> Optional[Agent]:
        """The enabled agent whose unexpired session this token is."""
        if not token:
            return None
        with using(self.engine, connection) as connection:
            row = connection.execute(
                select(agents)
                .join(agent_sessions, agent_sessions.c.agent_id == agents.c.id)
                .where(agent_sessions.c.token_hash == token_hash(token), agent_sessions.c.expires_at > _now(),
                       agents.c.disabled_at.is_(None))
            ).first()
        return _agent(row) if row else None

    def log_out(self, token: str) -> bool:
        """Ends this session; True when it was the account's last one (the account is then marked offline)."""
        with self.engine.begin() as connection:
            agent_id = connection.execute(
                select(agent_sessions.c.agent_id).where(agent_sessions.c.token_hash == token_hash(token))
            ).scalar()
            if agent_id is None:
                return False
            connection.execute(delete(agent_sessions).where(agent_sessions.c.token_hash == token_hash(token)))
            left = connection.execute(
                select(func.count()).select_from(agent_sessions)
                .where(agent_sessions.c.agent_id == agent_id, agent_sessions.c.expires_at > _now())
            ).scalar()
            if not left:
                connection.execute(update(agents).where(agents.c.id == agent_id).values(last_seen_at=None))
            return not left

    def touch(self, agent_id: int) -> None:
        """Marks the agent as present now (console heartbeat); a disabled account stays offline."""
        with self.engine.begin() as connection:
            connection.execute(
                update(agents).where(agents.c.id == agent_id, agents.c.disabled_at.is_(None))
                .values(last_seen_at=_now())
            )

    def online_count(self, within_seconds: float, *, connection: Optional[Connection] = None) -> int:
        """Enabled agents seen within the last `within_seconds`."""
        since = _now() - timedelta(seconds=within_seconds)
        with using(self.engine, connection) as connection:
            return int(connection.execute(
                select(func.count()).select_from(agents)
                .where(agents.c.last_seen_at >= since, agents.c.disabled_at.is_(None))
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
    for command, says in (("disable", "refuse its logins and end its sessions"), ("enable", "allow its logins again")):
        commands.add_parser(command, help=f"{command} an account: {says}").add_argument("username")
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
        elif args.command in ("disable", "enable"):
            directory.set_disabled(args.username, args.command == "disable")
            print(f"{args.username} {args.command}d." + (" Its sessions were ended; open consoles close within"
                                                         " a minute." if args.command == "disable" else ""))
        else:
            for agent in directory.all():
                seen = agent.last_seen_at.isoformat(timespec="seconds") if agent.last_seen_at else "never"
                state = "  (disabled)" if agent.disabled else ""
                print(f"{agent.username:<20} {agent.role:<11} {agent.name:<12} last seen {seen}{state}")
    except AccountError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
