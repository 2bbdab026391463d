"""Malformed HTTP requests (a raw non-ASCII byte in the URL, a bad header line) are hostile input, not bugs.

aiohttp's server answers them with a 400 but logs each at ERROR with its traceback ("Error handling
request"): a fuzzer fills the log with tracebacks that hide real ones. This filter turns those records into
one INFO line naming the refusal; every other record of aiohttp's server logger passes unchanged.
"""

from __future__ import annotations

import logging

from aiohttp.http_exceptions import BadHttpMessage

SERVER_LOGGER = "aiohttp.server"


class MalformedRequestFilter(logging.Filter):
    """Demotes aiohttp's record of a request it could not parse to one INFO line without a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, BadHttpMessage):
            # the message's first line only: the rest quotes the raw request (its URL can carry ids)
            reason = str(error.message).strip().splitlines()[0][:120] if error.message else ""
            record.msg, record.args = "refused a malformed HTTP request (%s: %s)", (type(error).__name__, reason)
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def quiet_malformed_requests() -> None:
    """Installs the filter on aiohttp's server logger, once per process."""
    logger = logging.getLogger(SERVER_LOGGER)
    if not any(isinstance(f, MalformedRequestFilter) for f in logger.filters):
        logger.addFilter(MalformedRequestFilter())
