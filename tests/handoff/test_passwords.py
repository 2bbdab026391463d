"""Passwords: argon2id with OWASP's parameters for new hashes; scrypt and outdated argon2 hashes still verify
and are replaced on the next successful login; unknown usernames cost a verification too; disabled accounts."""

from __future__ import annotations

import base64
import hashlib
import secrets

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update

import handoff.accounts as accounts_module
from handoff.accounts import AccountError, AgentDirectory, main
from handoff.passwords import dummy_hash, hash_password, needs_rehash, verify_password
from handoff.schema import agents


def old_scrypt_hash(password: str) -> str:
    """A hash as handoff/passwords.py wrote them before argon2id (scrypt, N=2^14)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt${2**14}$8$1${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def stored_hash(engine, username: str) -> str:
    with engine.connect() as connection:
        return connection.execute(select(agents.c.password_hash).where(agents.c.username == username)).scalar()


def set_hash(engine, username: str, value: str) -> None:
    with engine.begin() as connection:
        connection.execute(update(agents).where(agents.c.username == username).values(password_hash=value))


def test_new_hashes_are_argon2id_with_owasp_parameters():
    stored = hash_password("secret-pass-1")
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert verify_password("secret-pass-1", stored) and not verify_password("secret-pass-2", stored)
    assert not needs_rehash(stored)
    assert hash_password("secret-pass-1") != stored, "every hash has its own salt"


def test_scrypt_hashes_and_outdated_argon2_hashes_need_a_rehash():
    assert verify_password("secret-pass-1", old_scrypt_hash("secret-pass-1"))
    assert not verify_password("wrong-pass", old_scrypt_hash("secret-pass-1"))
    assert needs_rehash(old_scrypt_hash("x"))
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("secret-pass-1")
    assert verify_password("secret-pass-1", weak) and needs_rehash(weak)
    assert not verify_password("secret-pass-1", "garbage") and needs_rehash("garbage")


@pytest.mark.parametrize("outdated", [old_scrypt_hash, PasswordHasher(time_cost=1, memory_cost=8192).hash])
def test_a_successful_login_replaces_an_outdated_hash_with_argon2id(engine, outdated):
    directory = AgentDirectory(engine)
    directory.add("li", "小李", "secret-pass-1")
    set_hash(engine, "li", outdated("secret-pass-1"))
    assert directory.log_in("li", "wrong-password") is None
    assert needs_rehash(stored_hash(engine, "li")), "a wrong password changes nothing"
    token, agent = directory.log_in("li", "secret-pass-1")
    assert agent.username == "li" and directory.agent_for_token(token) == agent
    rehashed = stored_hash(engine, "li")
    assert rehashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$") and not needs_rehash(rehashed)
    assert directory.log_in("li", "secret-pass-1") is not None, "the new hash verifies the same password"


def test_an_unknown_username_is_verified_against_a_dummy_hash(engine, monkeypatch):
    directory = AgentDirectory(engine)
    directory.add("li", "小李", "secret-pass-1")
    verified = []
    real = accounts_module.verify_password
    monkeypatch.setattr(accounts_module, "verify_password",
                        lambda password, stored: verified.append(stored) or real(password, stored))
    assert directory.log_in("ghost", "secret-pass-1") is None
    assert verified == [dummy_hash()], "an unknown username costs one argon2id verification like a known one"
    assert dummy_hash().startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert directory.log_in("li", "secret-pass-1") is not None
    assert verified[-1] == stored_hash(engine, "li")


def test_a_disabled_account_cannot_log_in_and_loses_its_sessions(engine):
    directory = AgentDirectory(engine)
    directory.add("li", "小李", "secret-pass-1")
    token, li = directory.log_in("li", "secret-pass-1")
    directory.touch(li.id)
    assert directory.online_count(60) == 1
    assert directory.set_disabled("li", True).disabled
    assert directory.agent_for_token(token) is None
    assert directory.log_in("li", "secret-pass-1") is None
    assert directory.online_count(60) == 0
    directory.touch(li.id)
    assert directory.online_count(60) == 0, "a disabled account's heartbeat does not bring it online"
    assert [a.disabled for a in directory.all()] == [True]
    directory.set_disabled("li", False)
    assert directory.log_in("li", "secret-pass-1") is not None
    with pytest.raises(AccountError):
        directory.set_disabled("ghost", True)


def test_logging_out_the_last_session_takes_the_agent_offline(engine):
    directory = AgentDirectory(engine)
    li = directory.add("li", "小李", "secret-pass-1")
    first, _ = directory.log_in("li", "secret-pass-1")
    second, _ = directory.log_in("li", "secret-pass-1")
    directory.touch(li.id)
    assert directory.log_out(first) is False and directory.online_count(60) == 1
    assert directory.agent_for_token(first) is None and directory.agent_for_token(second) is not None
    assert directory.log_out(second) is True and directory.online_count(60) == 0


def test_a_new_password_ends_every_session(engine):
    directory = AgentDirectory(engine)
    directory.add("li", "小李", "secret-pass-1")
    token, _ = directory.log_in("li", "secret-pass-1")
    directory.set_password("li", "secret-pass-2")
    assert directory.agent_for_token(token) is None
    assert directory.log_in("li", "secret-pass-1") is None and directory.log_in("li", "secret-pass-2")
    with pytest.raises(AccountError):
        directory.set_password("li", "short")


def test_the_command_line_disables_and_enables_accounts(tmp_path, monkeypatch, capsys):
    from core.db import create_database_engine
    from core.settings import settings

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("SHOP_DATABASE_URL", url)
    settings.cache_clear()
    try:
        monkeypatch.setattr("sys.stdin", __import__("io").StringIO("secret-pass-1\n"))
        assert main(["add", "li", "--name", "小李", "--password-stdin"]) == 0
        assert main(["disable", "li"]) == 0
        engine = create_database_engine(url)
        assert AgentDirectory(engine).log_in("li", "secret-pass-1") is None
        assert main(["list"]) == 0 and "(disabled)" in capsys.readouterr().out
        assert main(["enable", "li"]) == 0
        assert AgentDirectory(engine).log_in("li", "secret-pass-1") is not None
        assert main(["disable", "ghost"]) == 1
        engine.dispose()
    finally:
        settings.cache_clear()

