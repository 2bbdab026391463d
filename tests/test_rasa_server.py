"""The Rasa launcher (bot/rasa_server.py) sets what Rasa reads once at import, from the settings."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT

# as `python -m bot.rasa_server` does: the launcher is imported before anything of Rasa
PROBE = """
from bot import rasa_server
import rasa.__main__
rasa.__main__.main = lambda: print(__import__("rasa.core.lock_store", fromlist=["LOCK_LIFETIME"]).LOCK_LIFETIME)
rasa_server.main()
"""


def run_probe(**env: str) -> str:
    ours = ("TICKET_LOCK_LIFETIME", "SHOP_RASA_LOCK_LIFETIME_SECONDS")
    clean = {k: v for k, v in os.environ.items() if k not in ours}
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env={**clean, "PYTHONPATH": str(ROOT), **env},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


def test_rasas_lock_lifetime_comes_from_the_settings():
    assert run_probe() == "60"
    assert run_probe(SHOP_RASA_LOCK_LIFETIME_SECONDS="7") == "7"
