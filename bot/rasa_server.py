"""`python -m bot.rasa_server run ...`: Rasa's own command line (`rasa run ...`), with two speed-ups.

1. Rasa 3.6 checks every action server response with `jsonschema.validate(response, schema)`. That
   call first checks the schema itself against JSON Schema's meta-schema, every time: 1.35 ms of the
   2.2 ms a call takes, and a sixth of Rasa's CPU per customer message under load (py-spy,
   docs/benchmarks.md). Here each schema's validator is built once and reused, so responses are
   checked exactly as before (same validator class, same errors), without re-checking an unchanged
   schema.
2. Rasa opens a new HTTP session, and so a new connection, for every call to the action server
   (`EndpointConfig.request` wraps each call in `async with self.session()`). Here each endpoint keeps
   one session per event loop and lends it to every call: the same requests, headers and timeouts,
   over kept-alive connections.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any, Dict

import aiohttp
import jsonschema
from rasa.utils.endpoints import EndpointConfig

_original_validate = jsonschema.validate
_validators: Dict[str, Any] = {}


def validate_with_cached_validator(instance: Any, schema: Dict[str, Any], cls: Any = None, *args: Any,
                                   **kwargs: Any) -> None:
    """jsonschema.validate, with the schema checked and its validator built once per distinct schema."""
    if cls is not None or args or kwargs:
        return _original_validate(instance, schema, cls, *args, **kwargs)
    key = json.dumps(schema, sort_keys=True, default=str)
    validator = _validators.get(key)
    if validator is None:
        validator_class = jsonschema.validators.validator_for(schema)
        validator_class.check_schema(schema)
        validator = _validators[key] = validator_class(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
    if error is not None:
        raise error
    return None


_original_session = EndpointConfig.session


class _LentSession:
    """`async with` that lends an endpoint's kept session and leaves it open afterwards."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self.session

    async def __aexit__(self, *_exc: Any) -> None:
        return None


def kept_session(endpoint: EndpointConfig) -> _LentSession:
    """EndpointConfig.session, made once per endpoint and event loop instead of once per request."""
    loop = asyncio.get_running_loop()
    session = getattr(endpoint, "_kept_session", None)
    if session is None or session.closed or session._loop is not loop:  # noqa: SLF001 - aiohttp keeps no public handle
        session = _original_session(endpoint)
        endpoint._kept_session = session  # noqa: SLF001
    return _LentSession(session)


def install() -> None:
    """Replaces jsonschema.validate (Rasa imports it at call time) and EndpointConfig.session in this
    process."""
    jsonschema.validate = validate_with_cached_validator
    EndpointConfig.session = kept_session


def main() -> None:
    """Runs Rasa's command line with the speed-up installed."""
    install()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
