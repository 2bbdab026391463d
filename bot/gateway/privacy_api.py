"""Supervisors' personal-data API on the dashboard sub-app (docs/dashboard-api.md, docs/privacy.md), and the
privacy page the widget's notice links to.

    GET  /dashboard/api/privacy/export?customer_id=C10086     one customer's data as a JSON download
    GET  /dashboard/api/privacy/export?conversation_id=...    one anonymous visitor's conversation
    POST /dashboard/api/privacy/erase  {"customer_id": ...} or {"conversation_id": ...}
    GET  /dashboard/api/privacy/actions                       the privacy record, newest first
    GET  /privacy                                             the shop's privacy policy (privacy.notice_url)
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from bot.gateway.dashboard_api import supervisors_only
from bot.gateway.json_input import JsonInputError, read_json
from bot.gateway.keys import AUDIT, CONFIG, HUB, PERSONAL_DATA
from bot.gateway.personal_data import NothingStored, PersonalDataError, Subject, TicketStillOpen
from bot.gateway.retention import RetentionWindows
from handoff.accounts import Agent


def _json(body: Any, status: int = 200, **headers: str) -> web.Response:
    return web.json_response(body, status=status, headers=headers or None,
                             dumps=lambda obj: json.dumps(obj, ensure_ascii=False))


# the actions as the dashboard's audit log names them (beside its read_transcript and export_csv)
EXPORT_PERSONAL_DATA, ERASE_PERSONAL_DATA = "export_personal_data", "erase_personal_data"


async def _audit(request: web.Request, agent: Agent, action: str, subject: Subject) -> None:
    """The supervisors' audit log shows personal-data requests too (the counts are in the privacy record)."""
    await request.config_dict[HUB].run_blocking(
        request.config_dict[AUDIT].record, agent.id, agent.username, action, f"{subject.kind}:{subject.value}")


def _refusal(error: PersonalDataError) -> web.Response:
    if isinstance(error, NothingStored):
        return _json({"error": "not_found", "message": str(error)}, 404)
    if isinstance(error, TicketStillOpen):
        return _json({"error": "ticket_open", "message": str(error)}, 409)
    return _json({"error": "bad_subject", "message": str(error)}, 400)


@supervisors_only
async def export_view(request: web.Request, agent: Agent) -> web.Response:
    """One customer's data, recorded in the privacy record under the supervisor's name."""
    try:
        subject = Subject.of(request.query.get("customer_id"), request.query.get("conversation_id"))
        data = await request.config_dict[HUB].run_blocking(
            request.config_dict[PERSONAL_DATA].export, subject, agent.username)
    except PersonalDataError as error:
        return _refusal(error)
    await _audit(request, agent, EXPORT_PERSONAL_DATA, subject)
    return _json(data, **{"Content-Disposition": f'attachment; filename="personal-data-{subject.kind}.json"',
                          "Cache-Control": "no-store"})


@supervisors_only
async def erase_view(request: web.Request, agent: Agent) -> web.Response:
    """Erases one customer's data; answers the rows changed per table."""
    try:
        body = await read_json(request)
    except JsonInputError as error:
        return _json({"error": "bad_json", "message": f'{error}; send {{"customer_id": "..."}} or '
                      '{"conversation_id": "..."}'}, error.status)
    if not isinstance(body, dict) or not all(isinstance(body.get(k), str | None)
                                             for k in ("customer_id", "conversation_id")):
        return _json({"error": "bad_subject", "message": "customer_id or conversation_id must be a string"}, 400)
    try:
        subject = Subject.of(body.get("customer_id"), body.get("conversation_id"))
        hub = request.config_dict[HUB]
        erased = await hub.run_blocking(request.config_dict[PERSONAL_DATA].erase, subject, agent.username)
    except PersonalDataError as error:
        return _refusal(error)
    for conversation_id in erased.conversation_ids:
        hub.forget_metadata(conversation_id)
    await _audit(request, agent, ERASE_PERSONAL_DATA, subject)
    return _json({"erased": {f"{subject.kind}_id": subject.value}, "counts": erased.counts})


@supervisors_only
async def actions_view(request: web.Request, agent: Agent) -> web.Response:
    """The newest 100 rows of the privacy record (exports, erasures, retention runs)."""
    rows = await request.config_dict[HUB].run_blocking(request.config_dict[PERSONAL_DATA].actions)
    return _json({"actions": rows})


def add_privacy_routes(dashboard: web.Application) -> None:
    """Adds the personal-data API to the dashboard sub-app."""
    dashboard.router.add_get("/api/privacy/export", export_view)
    dashboard.router.add_post("/api/privacy/erase", erase_view)
    dashboard.router.add_get("/api/privacy/actions", actions_view)


PRIVACY_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>在线客服隐私说明</title>
<style>body{{font:15px/1.7 system-ui,sans-serif;max-width:40em;margin:2em auto;padding:0 1em;color:#262626}}</style>
</head><body>
<h1>在线客服隐私说明</h1>
<p>您在在线客服中发送的对话内容仅用于为您提供服务（解答问题、处理订单、转接人工客服）。</p>
<p>用于统计和改进服务的记录中，手机号、身份证号、银行卡号、地址、邮箱等个人信息会被脱敏保存。</p>
<p>对话记录保存{transcript_days}，脱敏后的统计记录保存{event_days}，到期自动删除或匿名化。</p>
<p>如需查询、导出或删除您的个人信息，请联系客服，我们将依照《个人信息保护法》及时处理。</p>
</body></html>
"""


async def privacy_page(request: web.Request) -> web.StreamResponse:
    """The widget notice's link: the shop's own policy when `privacy.notice_url` is set, else a short page."""
    section = request.config_dict[CONFIG].privacy
    url = str(section.get("notice_url") or "")
    if url:
        raise web.HTTPFound(url)
    windows = RetentionWindows.from_settings(section)  # checked when the gateway started
    days = {name: f" {getattr(windows, name):g} 天" if getattr(windows, name) > 0 else "至您要求删除"
            for name in ("transcript_days", "event_days")}
    return web.Response(text=PRIVACY_PAGE.format(**days), content_type="text/html", charset="utf-8")
