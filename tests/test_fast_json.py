"""core/fast_json.py writes the same JSON as the json module, for everything json can write."""

from __future__ import annotations

import json

import numpy as np

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
