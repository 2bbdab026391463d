"""The supervisor dashboard's API (`/dashboard/api/...`, documented in docs/dashboard-api.md).

Supervisor accounts only; figures come from analytics/ exactly as the report command computes them.
"""

from __future__ import annotations

import csv
import io
import json
from functools import wraps
from typing import Any, Awaitable, Callable

from aiohttp import web

from analytics.dashboard_data import DashboardData
from analytics.metrics import summary
from analytics.unanswered import failed_questions, group
from bot.gateway.console_auth import current_agent, unauthorised
from bot.gateway.keys import DASHBOARD
from handoff.accounts import Agent

EXPORT_COLUMNS = ("at", "conversation_id", "customer_id", "kind", "intent", "confidence", "kb_key", "reason",
                  "agent", "score", "text")


def _json(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=lambda obj: json.dumps(obj, ensure_ascii=False))


def supervisors_only(
    handler: Callable[[web.Request, Agent], Awaitable[web.StreamResponse]]
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """401 without a session, 403 for agent accounts."""

    @wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        agent = await current_agent(request)
        if agent is None:
            return unauthorised()
        if agent.role != "supervisor":
            return _json({"error": "supervisors_only", "message": "仅限主管账号查看数据看板"}, 403)
        return await handler(request, agent)

    return wrapper


def _data(request: web.Request) -> DashboardData:
    return request.config_dict[DASHBOARD]


async def _period(request: web.Request) -> Any:
    try:
        return await _data(request).period(request.query.get("from"), request.query.get("to"))
    except ValueError as error:
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "bad_period", "message": str(error)}), content_type="application/json"
        ) from None


@supervisors_only
async def summary_view(request: web.Request, agent: Agent) -> web.Response:
    by = request.query.get("by", "day")
    if by not in ("day", "week", "month"):
        return _json({"error": "bad_grouping", "message": "by must be day, week or month"}, 400)
    data = _data(request)
    start, end, events = await _period(request)
    return _json(summary(events, start, end, by, data.settings, await data.labels()))


@supervisors_only
async def unanswered_view(request: web.Request, agent: Agent) -> web.Response:
    data = _data(request)
    start, end, events = await _period(request)
    groups = await data.run_blocking(lambda: group(failed_questions(events)))
    return _json({"groups": groups})


@supervisors_only
async def export_view(request: web.Request, agent: Agent) -> web.Response:
    start, end, events = await _period(request)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    for event in events:
        row = event.row()
        row["at"] = event.at.isoformat()
        writer.writerow([row.get(column) for column in EXPORT_COLUMNS])
    return web.Response(
        body=("\ufeff" + buffer.getvalue()).encode("utf-8"),  # the BOM makes Excel read the Chinese correctly
        content_type="text/csv", charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="conversations-{start}-{end}.csv"'},
    )


def create_dashboard_app() -> web.Application:
    """The dashboard sub-app, mounted at /dashboard: figures, unanswered questions, the CSV export."""
    app = web.Application()
    app.router.add_get("/api/summary", summary_view)
    app.router.add_get("/api/unanswered", unanswered_view)
    app.router.add_get("/api/export.csv", export_view)
    return app
