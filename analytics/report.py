"""`report`: deflection, containment, escalation and savings for a period, as a table, CSV or JSON.

    .venv/bin/python -m analytics.report --from 2026-11-01 --to 2026-11-30 --by week
    .venv/bin/python -m analytics.report --by category --format csv > report.csv
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from datetime import date, datetime, timedelta
from typing import Any, Dict, List, Optional, Tuple
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from analytics.csv_cells import safe_row
from analytics.events import Event, EventLog
from analytics.metrics import CostSettings, rows, summary

# a period is read with a day's margin on each side (time zones, the re-contact window): dates near the
# calendar's ends (0001, 9999) would overflow, and no shop has events outside these
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2099, 12, 31)
GROUPINGS = ("day", "week", "month", "intent", "category")
COLUMNS = ("conversations", "deflected", "contained", "escalated", "deflection_rate", "containment_rate",
           "escalation_rate", "fallback_endings", "abandoned")


def period_events(engine: Engine, start: date, end: date, settings: CostSettings) -> List[Event]:
    """The period's events plus the re-contact window after it (a re-contact can fall past the end)."""
    zone = ZoneInfo(settings.timezone)
    first = datetime.combine(start, datetime.min.time(), tzinfo=zone)
    after = datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    return EventLog(engine).between(first, after + timedelta(hours=settings.recontact_hours))


def knowledge_labels() -> Tuple[Dict[str, str], Dict[str, str]]:
    """(key -> question, key -> category) from the knowledge base, for readable reports."""
    from core.settings import project_path, settings
    from knowledge import load_knowledge_base

    kb = load_knowledge_base(project_path(settings()["knowledge_base"]["path"]))
    return {e.key: e.question for e in kb}, {e.key: e.category for e in kb}


def parse_period(start: Optional[str], end: Optional[str], zone: str) -> Tuple[date, date]:
    """Dates from the command line or the dashboard; default the last 7 days; refuses reversed ranges."""
    today = datetime.now(ZoneInfo(zone)).date()
    try:
        last = date.fromisoformat(end) if end else today
        first = date.fromisoformat(start) if start else last - timedelta(days=6)
    except ValueError:
        raise ValueError("dates must look like 2026-11-24") from None
    for day in (first, last):
        if not EARLIEST_DAY <= day <= LATEST_DAY:
            raise ValueError(f"dates must lie between {EARLIEST_DAY} and {LATEST_DAY} (got {day})")
    if first > last:
        raise ValueError(f"the period starts ({first}) after it ends ({last})")
    if (last - first).days > 366:
        raise ValueError("a period can be at most a year")
    return first, last


def render(table: List[Dict[str, Any]], by: str, fmt: str, totals: Dict[str, Any], cost: Dict[str, Any]) -> str:
    """The rows as a text table, CSV or JSON."""
    if fmt == "json":
        return json.dumps({"rows": table, "totals": totals, "cost": cost}, ensure_ascii=False, indent=2)
    header = (by, *COLUMNS)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        for row in table:
            writer.writerow(safe_row(row.get(column) for column in header))
        return buffer.getvalue()

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.1%}"
        return "-" if value is None else str(value)

    lines = [[cell(row.get(column)) for column in header] for row in table]
    lines.append(["total", *[cell(totals.get(column)) for column in COLUMNS]])
    widths = [max(len(str(h)), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
    out = ["  ".join(str(h).ljust(w) for h, w in zip(header, widths, strict=False))]
    out += ["  ".join(value.ljust(w) for value, w in zip(line, widths, strict=False)) for line in lines]
    out.append("")
    out.append(f"{cost['formula']}: {cost['savings_yuan']:.2f} 元")
    out.append(f"  {cost['human_cost_formula']} = {cost['human_cost_per_conversation']:.2f} 元 "
               f"({cost['handling_minutes_source']}); 机器人单次成本 {cost['bot_cost_per_conversation']:g} 元")
    roi = "-" if cost["roi"] is None else f"{cost['roi']:.1%}"
    out.append(f"  {cost['roi_formula']} = {roi}")
    return "\n".join(out) + "\n"


def main(argv: Optional[List[str]] = None) -> int:
    from core.db import create_database_engine, database_url, upgrade_schema
    from core.settings import settings

    parser = argparse.ArgumentParser(prog="python -m analytics.report", description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="start", help="first day, YYYY-MM-DD (default: 6 days before --to)")
    parser.add_argument("--to", dest="end", help="last day, YYYY-MM-DD (default: today)")
    parser.add_argument("--by", choices=GROUPINGS, default="day")
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table")
    args = parser.parse_args(argv)
    cost_settings = CostSettings.from_settings(settings().get("analytics") or {})
    try:
        start, end = parse_period(args.start, args.end, cost_settings.timezone)
    except ValueError as error:
        parser.error(str(error))
    engine = create_database_engine(database_url())
    upgrade_schema(engine)
    events = period_events(engine, start, end, cost_settings)
    questions, categories = knowledge_labels()
    table = rows(events, start, end, args.by, cost_settings, categories)
    overview = summary(events, start, end, "day", cost_settings, questions)
    sys.stdout.write(render(table, args.by, args.format, overview["totals"], overview["cost"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
