"""`python -m bot.action_server --actions actions --port N`: rasa-sdk's action server (`rasa run actions ...`, the
same arguments) without the per-request work nobody reads: CORS headers when no `--cors` origin is given (only
Rasa calls the action server; a browser never does) and Sanic's access-log record of every call. Under the scaled
load the two were an eighth of the action server's CPU (py-spy, docs/benchmarks.md). Rasa's own server gets the
same CORS rule from bot/rasa_speedups.py."""

from __future__ import annotations

import os
import sys
from typing import Any

from core.collector import settle_after_start


def without_cors_unless_asked(configure_cors: Any) -> Any:
    """`configure_cors(app, origins)` that leaves the app alone when no origin is allowed: the middleware would
    only add no headers to every response."""

    def configure(app: Any, cors_origins: Any = None) -> None:
        if cors_origins:
            configure_cors(app, cors_origins)

    return configure


def settled_once_started(create_app: Any) -> Any:
    """rasa-sdk's `create_app`, whose app settles the garbage collector once it serves (core/collector.py): the
    actions and the shop's data are loaded by then."""

    def create(*args: Any, **kwargs: Any) -> Any:
        app = create_app(*args, **kwargs)
        app.register_listener(_settle, "after_server_start")
        return app

    return create


async def _settle(_app: Any, _loop: Any = None) -> None:
    settle_after_start()


def main() -> None:
    """Runs rasa-sdk's action server through Rasa's command line, lightened as the module says."""
    # Sanic reads SANIC_* variables into its configuration; an operator may still set it to True
    os.environ.setdefault("SANIC_ACCESS_LOG", "False")
    import rasa_sdk.endpoint

    rasa_sdk.endpoint.configure_cors = without_cors_unless_asked(rasa_sdk.endpoint.configure_cors)
    rasa_sdk.endpoint.create_app = settled_once_started(rasa_sdk.endpoint.create_app)
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", "run", "actions", *sys.argv[1:]]
    rasa_main()


if __name__ == "__main__":
    main()
