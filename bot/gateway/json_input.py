"""Every JSON the gateway reads from outside (HTTP bodies, WebSocket frames) is decoded here, and only here.

orjson decodes (it refuses invalid UTF-8, lone surrogates, NaN and nesting past 1,024 levels without
recursing in Python); a walk over the result then refuses what orjson lets through but the gateway cannot
use: nesting deeper than `MAX_DEPTH`, numbers past ±(2**53 - 1) (orjson turns integers beyond 64 bits
into floats, and SQLite and PostgreSQL refuse integers beyond 64 bits). Every refusal is a
`JsonInputError` with a reason code and an English detail, so each route answers with a clear 4xx.
"""

from __future__ import annotations

import codecs
import json
from typing import Any, Optional, Union

import orjson
from aiohttp import web

# the deepest a frame the widget, the console or the dashboard sends gets is 3 (hello -> identity -> value);
# 32 leaves room for any client and keeps every later walk over the value (repr, json.dumps) shallow
MAX_DEPTH = 32
# JavaScript's safe integers: the widget cannot send more, and every integer column holds it
MAX_SAFE_INTEGER = 2**53 - 1
# a customer frame is at most 10,000 characters of text (60 kB escaped); far more is not a chat frame
MAX_FRAME_BYTES = 256 * 1024
# the HTTP body limit, as aiohttp's client_max_size in app.py
MAX_BODY_BYTES = 1024 * 1024
# JSON is UTF-8 (RFC 8259 section 8.1); ASCII is a subset of it
_CHARSETS = {"utf-8", "ascii"}

STATUS = {"too_large": 413, "unsupported_charset": 415}


class JsonInputError(ValueError):
    """JSON the gateway refuses: `reason` for programs, `detail` in English for the developer."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail

    @property
    def status(self) -> int:
        """The HTTP status of this refusal: 413 too large, 415 unsupported charset, otherwise 400."""
        return STATUS.get(self.reason, 400)

    def as_http(self) -> web.HTTPException:
        """This refusal as the console's and the dashboard's JSON error: {"error": reason, "message": detail}."""
        refusal = web.HTTPBadRequest(
            text=json.dumps({"error": self.reason, "message": self.detail}), content_type="application/json"
        )
        refusal.set_status(self.status)
        return refusal


def loads(data: Union[str, bytes, bytearray], max_bytes: int = MAX_FRAME_BYTES) -> Any:
    """The JSON value in `data`; JsonInputError when it is too large, invalid, too deep or out of range."""
    if len(data) > max_bytes:
        raise JsonInputError("too_large", f"JSON over {max_bytes} bytes")
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        message = str(error)
        if "surrogate" in message or "UTF-8" in message:
            raise JsonInputError("bad_unicode", f"not valid Unicode text: {message}") from None
        if "recursion" in message:
            raise JsonInputError("too_deep", f"JSON nested deeper than {MAX_DEPTH} levels") from None
        raise JsonInputError("invalid_json", message) from None
    _check(value)
    return value


def _check(value: Any) -> None:
    # iterative, so a deep value cannot exhaust Python's stack here either
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            if isinstance(item, int | float) and not isinstance(item, bool) and abs(item) > MAX_SAFE_INTEGER:
                raise JsonInputError(
                    "number_out_of_range", f"numbers must lie within ±{MAX_SAFE_INTEGER} (2**53 - 1)"
                )
            continue
        if depth > MAX_DEPTH:
            raise JsonInputError("too_deep", f"JSON nested deeper than {MAX_DEPTH} levels")
        stack.extend((child, depth + 1) for child in children)


def _charset(request: web.BaseRequest) -> Optional[str]:
    # aiohttp would look up any charset named in Content-Type, and fail on an unknown one with a LookupError
    name = request.charset
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return name.lower()


async def read_json(request: web.BaseRequest, max_bytes: int = MAX_BODY_BYTES) -> Any:
    """The request's JSON body, read and decoded by `loads`; JsonInputError (with its `status`) otherwise."""
    charset = _charset(request)
    if charset is not None and charset not in _CHARSETS:
        raise JsonInputError(
            "unsupported_charset", f"JSON bodies must be UTF-8 (RFC 8259); Content-Type says charset={charset}"
        )
    if request.content_length is not None and request.content_length > max_bytes:
        raise JsonInputError("too_large", f"JSON over {max_bytes} bytes")
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise JsonInputError("too_large", f"JSON over {max_bytes} bytes") from None
    return loads(body, max_bytes)


async def read_json_object(request: web.BaseRequest, max_bytes: int = MAX_BODY_BYTES) -> dict:
    """`read_json`, refusing anything but a JSON object (every body the gateway takes is one)."""
    body = await read_json(request, max_bytes)
    if not isinstance(body, dict):
        raise JsonInputError("invalid_json", "the body must be a JSON object")
    return body
