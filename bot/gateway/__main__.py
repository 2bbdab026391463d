"""`python -m bot.gateway`: serves the gateway on the configured host and port."""

from __future__ import annotations

import logging
import sys

# spaCy's thinc imports TensorFlow whenever it is installed (Rasa installs it): 2 s and about 500 MiB
# the gateway never uses. Marking it absent before anything imports spaCy keeps it out of this process.
sys.modules.setdefault("tensorflow", None)  # type: ignore[arg-type]

import uvloop  # noqa: E402
from aiohttp import web  # noqa: E402 - after the TensorFlow guard

from bot.gateway.app import create_app  # noqa: E402
from bot.gateway.config import GatewayConfig  # noqa: E402
from core.collector import settle_after_start  # noqa: E402


def main() -> None:
    """Runs until SIGINT/SIGTERM."""
    config = GatewayConfig.from_settings()
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s {config.replica} %(levelname)s %(message)s")
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # uvloop (which Rasa's Sanic already installs): its sockets and its wake-ups from the database
    # thread cost a fraction of asyncio's own loop's (docs/benchmarks.md, "CPU per reply")
    uvloop.install()
    app = create_app(config)
    app.on_startup.append(settle_once_warm)
    web.run_app(app, host=config.host, port=config.port, print=None)


async def settle_once_warm(app: web.Application) -> None:
    """Settles the garbage collector (core/collector.py) once the start-up's warm-up has loaded spaCy and
    jieba: what start-up loaded stays for the process's life."""
    app["warm_up"].add_done_callback(lambda _done: settle_after_start())


if __name__ == "__main__":
    main()
