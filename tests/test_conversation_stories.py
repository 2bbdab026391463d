"""Runs the conversation tests in tests/test_*.yml with Rasa's own test command."""

from __future__ import annotations

import subprocess

import pytest

from evaluation.live_stack import rasa_env
from tests.conftest import RASA, ROOT


@pytest.mark.slow
@pytest.mark.parametrize("stories", sorted(p.name for p in (ROOT / "tests").glob("test_*.yml")))
def test_conversation_file_passes(full_model, tmp_path, stories):
    result = subprocess.run(
        [
            RASA, "test", "core", "--model", str(full_model),
            "--stories", str(ROOT / "tests" / stories),
            "--fail-on-prediction-errors", "--out", str(tmp_path),
        ],
        cwd=ROOT, env=rasa_env(), capture_output=True, text=True, timeout=600,
    )
    failed = (tmp_path / "failed_test_stories.yml")
    details = failed.read_text(encoding="utf-8") if failed.exists() else result.stdout[-3000:]
    assert result.returncode == 0, details + result.stderr[-2000:]
