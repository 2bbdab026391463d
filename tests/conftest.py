"""Session fixtures: real Rasa models, trained once per test run, and the whole product (action server,
Rasa server, chat gateway) on loopback, started once the way `make run` starts them (bot/run.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from core.db import create_database_engine, upgrade_schema
from evaluation.live_stack import RunningStack, rasa_env, running_stack
from evaluation.postgres_schema import fresh_schema

ROOT = Path(__file__).resolve().parents[1]
RASA = str(Path(sys.executable).with_name("rasa"))

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def postgres_url() -> str:
    """This machine's PostgreSQL for the tests (TEST_POSTGRES_URL: `.ci/run` and the Makefile set it)."""
    return os.environ.get("TEST_POSTGRES_URL", "")


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A URL of this machine's PostgreSQL that works in a new, empty schema, dropped afterwards; skips the
    test when TEST_POSTGRES_URL is not set."""
    base = postgres_url()
    if not base:
        pytest.skip("TEST_POSTGRES_URL is not set (make test sets it to the local PostgreSQL)")
    with fresh_schema(base) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A fresh, migrated database URL of each kind: SQLite, and this machine's PostgreSQL (TEST_POSTGRES_URL, which
    `.ci/run` and the Makefile set) in a schema of its own, dropped afterwards."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'shop.db'}"
        upgrade_schema(create_database_engine(url))
        yield url
        return
    with postgres_schema() as url:
        upgrade_schema(create_database_engine(url))
        yield url


@pytest.fixture(scope="session")
def full_model(tmp_path_factory) -> Path:
    """The shop's complete model (NLU and rules), trained with `rasa train` as `make run` does."""
    out = tmp_path_factory.mktemp("model")
    result = subprocess.run(
        [
            RASA, "train", "--data", "data/nlu", "data/rules", "--config", "config.yml",
            "--domain", "domain.yml", "--out", str(out), "--fixed-model-name", "shop",
        ],
        cwd=ROOT, env=rasa_env(), capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out / "shop.tar.gz"


@pytest.fixture(scope="session")
def stack(full_model: Path, tmp_path_factory) -> RunningStack:
    """The whole product on loopback, once per test run."""
    quick = {
        # quick notices so the browser test of an outage does not wait long
        "SHOP_GATEWAY_BOT_NOTICE_AFTER_SECONDS": "2",
        "SHOP_GATEWAY_BOT_TIMEOUT_SECONDS": "10",
        # the suite's scripted conversations type faster than a person
        "SHOP_GATEWAY_RATE_LIMIT_BURST": "50",
    }
    with running_stack(full_model, tmp_path_factory.mktemp("stack"), quick) as running:
        yield running
