"""`python -m bot.rasa_server run ...`: Rasa's own command line (`rasa run ...`), with the per-message work
Rasa repeats without need taken out first (bot/rasa_speedups.py), and the garbage collector settled once the model
is loaded (core/collector.py)."""

from __future__ import annotations

import os
import sys
from typing import Any

from core.settings import settings

# Before anything imports Rasa's lock store, which reads its lock lifetime once, at import (settings.yml,
# rasa.lock_lifetime_seconds, says what a shorter or longer one costs).
os.environ.setdefault("TICKET_LOCK_LIFETIME",
                      str(max(1, int(float(settings()["rasa"].get("lock_lifetime_seconds") or 60)))))

# numpy's BLAS would start a thread per core for the small products of the intent classifiers
# (bot/rasa_diet_inference.py, the linear classifier), and its threads spin while they wait for work: Rasa's
# CPU per reply went from 12-15 ms to 35 ms with them (bench.open_loop). Set before numpy is imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from bot import rasa_speedups  # noqa: E402
from core.collector import settle_after_start  # noqa: E402


def settled_after_loading(load_agent_on_start: Any) -> Any:
    """Rasa's `load_agent_on_start` listener, followed by `settle_after_start` once the model is loaded."""

    async def load(*args: Any, **kwargs: Any) -> Any:
        agent = await load_agent_on_start(*args, **kwargs)
        settle_after_start()
        return agent

    return load


def main() -> None:
    """Runs Rasa's command line with the speed-ups installed."""
    rasa_speedups.install()
    import rasa.core.run

    rasa.core.run.load_agent_on_start = settled_after_loading(rasa.core.run.load_agent_on_start)
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
