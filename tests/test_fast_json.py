"""core/fast_json.py writes the same JSON as the json module, for everything json can write."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core import fast_json


def test_values_of_a_turn_read_back_the_same():
    value = {"text": "退款多久到账？", "confidence": 0.9999999700349048, "buttons": [{"title": "转人工"}],
             "ok": True, "none": None, "count": 3, "nested": {"list": [1, 2.5, "三"]}}
    assert json.loads(fast_json.dumps(value)) == value
    assert "退款" in fast_json.dumps(value), "Chinese stays readable"


def test_what_orjson_refuses_is_written_by_the_json_module():
    huge = {"n": 2 ** 70}
    assert json.loads(fast_json.dumps(huge)) == huge
    assert json.loads(fast_json.dumps({1: "a"})) == {"1": "a"}
    assert json.loads(fast_json.dumps({"x": np.float64(0.5), "y": np.int64(2)})) == {"x": 0.5, "y": 2}


# a value nested far past orjson's recursion limit, written in a process of its own
_DEEP_VALUE = """
import sys
from core import fast_json
value = 1
for _ in range(100_000):
    value = (value,) if sys.argv[1] == "tuple" else [{"k": value}]
try:
    fast_json.dumps(value)
except (TypeError, ValueError, RecursionError):
    print("refused")
"""


@pytest.mark.parametrize("kind", ["tuple", "list_of_dict"])
def test_a_value_nested_too_deep_is_refused_without_crashing_the_process(kind):
    """orjson 3.12 and 3.13 corrupt memory or overflow the stack on a tuple nested past the recursion limit, where
    3.11.9 refuses it; a crash would take the gateway or Rasa down (requirements.txt pins 3.11.9 for this)."""
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-c", _DEEP_VALUE, kind], capture_output=True, text=True, timeout=120,
                          cwd=root, env={**os.environ, "PYTHONPATH": str(root)})
    assert done.returncode == 0, f"the process died (exit {done.returncode}): {done.stderr[-300:]}"
    assert done.stdout.strip() == "refused"


def test_the_bytes_are_the_text_in_utf8_also_where_orjson_refuses():
    for value in ({"text": "退款多久到账？", "n": [1, 2.5, None]}, {"n": 2 ** 70}, {1: "a"}):
        assert fast_json.dumps_bytes(value) == fast_json.dumps(value).encode("utf-8")
