"""`python -m bot.gateway`: serves the gateway on the configured host and port."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.gateway.app import create_app
from bot.gateway.config import GatewayConfig


def main() -> None:
    """Runs until SIGINT/SIGTERM."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s gateway %(levelname)s %(message)s")
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    config = GatewayConfig.from_settings()
    web.run_app(create_app(config), host=config.host, port=config.port, print=None)


if __name__ == "__main__":
    main()
