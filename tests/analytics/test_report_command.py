"""The `report` command on a database of constructed events: table, CSV and JSON agree with the definitions."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from analytics.events import Event, EventLog
from core.db import create_database_engine, upgrade_schema
from tests.conftest import ROOT

DAY = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)  # 10:00 on 2026-11-20 in Shanghai


@pytest.fixture
def database(tmp_path):
    url = f"sqlite:///{tmp_path / 'report.db'}"
    engine = create_database_engine(url)
    upgrade_schema(engine)
    log = EventLog(engine)
    for day in range(2):
        start = DAY + timedelta(days=day)
        log.write(Event(f"a{day}", "customer_message", start, intent="faq/refund_arrival_time", text="退款多久到账"))
        log.write(Event(f"a{day}", "bot_answer", start + timedelta(seconds=1), kb_key="refund_arrival_time"))
        log.write(Event(f"b{day}", "customer_message", start, intent="request_human", text="转人工，电话13800138000"))
        log.write(Event(f"b{day}", "escalation", start + timedelta(seconds=1), reason="request_human", ticket_id=day))
    log.write(Event("g", "customer_message", DAY, intent="greet", text="你好"))
    return url


def report(database: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "analytics.report", "--from", "2026-11-20", "--to", "2026-11-21", *args],
        cwd=ROOT, env={**__import__("os").environ, "SHOP_DATABASE_URL": database},
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_table_shows_each_day_the_total_and_the_savings_formula(database):
    out = report(database, "--by", "day")
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["day", "conversations", "deflected", "contained"]
    assert lines[1].split()[:5] == ["2026-11-20", "2", "1", "1", "1"]
    assert lines[3].split()[:5] == ["total", "4", "2", "2", "2"]
    assert "节省" in out and "31.00 元" in out and "时薪 120 元" in out


def test_csv_by_intent_and_json_carry_the_same_numbers(database):
    rows = list(csv.DictReader(io.StringIO(report(database, "--by", "intent", "--format", "csv"))))
    by_intent = {row["intent"]: row for row in rows}
    assert by_intent["faq/refund_arrival_time"]["deflected"] == "2"
    assert by_intent["request_human"]["escalated"] == "2"
    data = json.loads(report(database, "--by", "category", "--format", "json"))
    assert {row["category"]: row["conversations"] for row in data["rows"]} == {"refund": 2, "(not a FAQ)": 2}
    assert data["totals"]["escalation_rate"] == 0.5 and data["cost"]["savings_yuan"] == 31.0


def test_a_reversed_period_is_refused_with_a_clear_message(database):
    result = subprocess.run(
        [sys.executable, "-m", "analytics.report", "--from", "2026-11-22", "--to", "2026-11-20"],
        cwd=ROOT, env={**__import__("os").environ, "SHOP_DATABASE_URL": database},
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2 and "starts (2026-11-22) after it ends (2026-11-20)" in result.stderr
