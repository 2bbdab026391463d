"""`python -m bot.rasa_server run ...`: Rasa's own command line (`rasa run ...`), with the per-message work
Rasa repeats without need taken out first (bot/rasa_speedups.py)."""

from __future__ import annotations

import sys

from bot import rasa_speedups


def main() -> None:
    """Runs Rasa's command line with the speed-ups installed."""
    rasa_speedups.install()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
