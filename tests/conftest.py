"""Session fixtures: real Rasa models, trained once per test run and shared by the tests that need them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RASA = str(Path(sys.executable).with_name("rasa"))

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def rasa_env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false"}


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
