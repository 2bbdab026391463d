"""The supervisor dashboard's API (`/dashboard/api/...`, documented in docs/dashboard-api.md).

Supervisor accounts only; figures come from analytics/ exactly as the report command computes them.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from functools import wraps
from typing import Any, Awaitable, Callable

from aiohttp import web

from analytics.csv_cells import safe_row
from analytics.dashboard_data import DashboardData
from analytics.metrics import summary
from analytics.unanswered import failed_questions, group
from bot.gateway.console_auth import current_agent, no_tokens_in_urls, unauthorised
from bot.gateway.keys import ACCOUNTS, AUDIT, CONSOLES, DASHBOARD, HUB
from bot.gateway.same_origin import same_origin_only
from handoff.accounts import AccountError, Agent
from handoff.audit import DISABLE_ACCOUNT, ENABLE_ACCOUNT, EXPORT_CSV

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
    start, end, events = await _period(request)
    # CPU work, not SQL: on a worker thread, so the database thread goes on serving customers meanwhile
    groups = await asyncio.get_running_loop().run_in_executor(None, lambda: group(failed_questions(events)))
    return _json({"groups": groups})


@supervisors_only
async def export_view(request: web.Request, agent: Agent) -> web.Response:
    start, end, events = await _period(request)
    audit = request.config_dict[AUDIT]
    await request.config_dict[HUB].run_blocking(
        audit.record, agent.id, agent.username, EXPORT_CSV, f"conversations {start}..{end} ({len(events)} rows)"
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    for event in events:
        row = event.row()
        row["at"] = event.at.isoformat()
        writer.writerow(safe_row(row.get(column) for column in EXPORT_COLUMNS))
    return web.Response(
        body=("\ufeff" + buffer.getvalue()).encode("utf-8"),  # the BOM makes Excel read the Chinese correctly
        content_type="text/csv", charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="conversations-{start}-{end}.csv"'},
    )


@supervisors_only
async def audit_view(request: web.Request, agent: Agent) -> web.Response:
    """GET /dashboard/api/audit[?limit=&before=]: who read which transcript and who exported what, newest first."""
    try:
        limit = min(500, max(1, int(request.query.get("limit", "100"))))
        before = int(request.query["before"]) if "before" in request.query else None
    except ValueError:
        return _json({"error": "bad_query", "message": "limit and before are whole numbers"}, 400)
    if before is not None and not 0 < before < 2**62:
        return _json({"error": "bad_query", "message": "before is an audit entry id"}, 400)
    entries = await request.config_dict[HUB].run_blocking(request.config_dict[AUDIT].recent, limit, before)
    return _json({"entries": [entry.to_json() for entry in entries]})


@supervisors_only
async def accounts_view(request: web.Request, agent: Agent) -> web.Response:
    """GET /dashboard/api/accounts: every console account, with whether it is disabled and online."""
    directory = request.config_dict[ACCOUNTS].directory
    accounts = await request.config_dict[HUB].run_blocking(directory.all)
    online = {c.agent.id for c in request.config_dict[CONSOLES].connections}
    return _json({"accounts": [account.to_json(online=account.id in online) for account in accounts]})


async def _set_disabled(request: web.Request, agent: Agent, disabled: bool) -> web.Response:
    username = request.match_info["username"]
    if disabled and username == agent.username:
        return _json({"error": "own_account", "message": "不能停用自己的账号"}, 400)
    try:
        changed = await request.config_dict[ACCOUNTS].set_disabled(username, disabled)
    except AccountError:
        return _json({"error": "no_such_account", "message": f"没有名为 {username[:64]} 的账号"}, 404)
    await request.config_dict[HUB].run_blocking(
        request.config_dict[AUDIT].record, agent.id, agent.username,
        DISABLE_ACCOUNT if disabled else ENABLE_ACCOUNT, f"account:{changed.username}",
    )
    return _json(changed.to_json())


@supervisors_only
async def disable_view(request: web.Request, agent: Agent) -> web.Response:
    """POST /dashboard/api/accounts/{username}/disable: refuses its logins, ends its sessions, closes its
    consoles on every gateway and puts its tickets back in the queue."""
    return await _set_disabled(request, agent, True)


@supervisors_only
async def enable_view(request: web.Request, agent: Agent) -> web.Response:
    """POST /dashboard/api/accounts/{username}/enable: the account may log in again."""
    return await _set_disabled(request, agent, False)


def create_dashboard_app() -> web.Application:
    """The dashboard sub-app, mounted at /dashboard: figures, unanswered questions, the CSV export, accounts
    and the audit log."""
    app = web.Application(middlewares=[no_tokens_in_urls, same_origin_only])
    app.router.add_get("/api/summary", summary_view)
    app.router.add_get("/api/unanswered", unanswered_view)
    app.router.add_get("/api/export.csv", export_view)
    app.router.add_get("/api/audit", audit_view)
    app.router.add_get("/api/accounts", accounts_view)
    app.router.add_post("/api/accounts/{username}/disable", disable_view)
    app.router.add_post("/api/accounts/{username}/enable", enable_view)
    return app
