"""JSON text, written by orjson (several times faster than the json module on the large bodies of a turn:
the tracker Rasa sends to the action server, the frames the gateway sends); anything orjson refuses
(integers beyond 64 bits, unusual types) is written by the json module instead, so no value that json can
write is refused. Non-ASCII text stays readable, as with `ensure_ascii=False`."""

from __future__ import annotations

import json
from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def dumps(value: Any) -> str:
    """`value` as compact JSON text."""
    try:
        return orjson.dumps(value, option=_OPTIONS).decode("utf-8")
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def dumps_bytes(value: Any) -> bytes:
    """`dumps(value)` as UTF-8, without orjson's bytes decoded and encoded again (a request body)."""
    try:
        return orjson.dumps(value, option=_OPTIONS)
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
