"""Python's garbage collector for the long-running servers (Rasa, the action server, the gateway).

A server's start-up leaves hundreds of thousands of objects that live as long as the process: the model, spaCy and
jieba, the domain, the shop's data. Left in the collector's oldest generation, every full collection walks all of
them again (about 0.3 s each in Rasa, several times a minute under load: docs/benchmarks.md). Once the server is up,
`settle_after_start` collects what start-up threw away and moves what is left out of the collector's sight
(`gc.freeze`, Python 3.7+); later collections walk only what the traffic made.
"""

from __future__ import annotations

import gc
import logging

logger = logging.getLogger(__name__)


def settle_after_start() -> None:
    """Collects start-up's garbage, then freezes the objects left (never collected again, never walked)."""
    gc.collect()
    gc.freeze()
    logger.debug("garbage collector: %d start-up objects frozen", gc.get_freeze_count())
