"""The last resort for bugs: an exception no handler expected becomes a 500 JSON (or an error frame on a
socket) that leaks nothing, and one ERROR line in the log with personal data masked.

Hostile input never gets here: it is refused with a 4xx where it is parsed (json_input.py, protocol.py,
the routes' parameter checks). What does get here is a bug, so it is logged, once, with where it happened.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
import uuid
from typing import Any, Dict

from aiohttp import web

logger = logging.getLogger(__name__)

INTERNAL_TEXT = "服务器内部错误，我们已记录，请稍后再试。"
_MESSAGE_LIMIT = 300


def _masked(text: str) -> str:
    # exception messages can carry what the customer typed (SQL parameters, a value in a KeyError)
    try:
        from analytics.masking import mask

        return mask(text[:_MESSAGE_LIMIT])
    except Exception:  # noqa: BLE001 - the masker failing must not hide the bug it reports
        return "(message withheld: the masker failed on it)"


def report_unexpected(error: BaseException, where: str) -> str:
    """Logs `error` once at ERROR: its type, its stack (files, lines, functions: no values) and its masked
    message. Returns the incident id the client is given, to find this line."""
    incident = uuid.uuid4().hex[:12]
    frames = traceback.extract_tb(error.__traceback__)
    stack = " <- ".join(
        f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno} {frame.name}" for frame in reversed(frames)
    )
    logger.error(
        "unexpected %s in %s (incident %s): %s [at %s]",
        type(error).__name__, where, incident, _masked(str(error)), stack,
    )
    return incident


def internal_error_body(incident: str) -> Dict[str, Any]:
    """The 500's JSON: a code, a Chinese text, the incident id; nothing of the exception."""
    return {"error": "internal_error", "message": INTERNAL_TEXT, "incident": incident}


@web.middleware
async def last_resort(request: web.Request, handler: Any) -> web.StreamResponse:
    """Turns an unexpected exception into a 500 JSON, logged once by `report_unexpected`."""
    try:
        return await handler(request)
    except (web.HTTPException, asyncio.CancelledError, ConnectionResetError):
        raise
    except Exception as error:  # noqa: BLE001 - this is the last resort
        route = request.match_info.route.resource
        where = f"{request.method} {route.canonical if route else request.path}"
        incident = report_unexpected(error, where)
        if request.writer.output_size > 0:
            # the response (a WebSocket's upgrade) has gone out: no 500 can follow. aiohttp closes the
            # connection quietly on CancelledError; any other exception it would log a second time.
            raise asyncio.CancelledError() from None
        return web.json_response(internal_error_body(incident), status=500)
