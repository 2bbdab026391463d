"""CSV injection (OWASP): cells a spreadsheet would read as a formula are neutralised with a leading quote,
in the report command's CSV as in the dashboard's export (tests/gateway/test_csv_export.py)."""

from __future__ import annotations

import csv
import io

import pytest

from analytics.csv_cells import safe_cell, safe_row
from analytics.report import render


@pytest.mark.parametrize("text", ['=HYPERLINK("http://x","y")', "=1+2", "+1+2", "-2+3", "@SUM(A1:A2)",
                                  "\t=1+2", "\r=1+2"])
def test_a_formula_becomes_text(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["退款多久到账", "1+2=3", " =1", "", None, -3, 2.5, "a=b"])
def test_everything_else_is_unchanged(value):
    assert safe_cell(value) == value


def test_rows_are_neutralised_cell_by_cell():
    assert safe_row(["=1+2", "ok", -1]) == ["'=1+2", "ok", -1]


def test_the_report_csv_neutralises_its_labels():
    cost = {"formula": "", "savings_yuan": 0}
    rows = [{"intent": '=HYPERLINK("http://x","y")', "conversations": 1}, {"intent": "=1+2", "conversations": -1}]
    table = list(csv.reader(io.StringIO(render(rows, "intent", "csv", {}, cost))))
    assert table[1][:2] == ['\'=HYPERLINK("http://x","y")', "1"]
    assert table[2][:2] == ["'=1+2", "-1"]
