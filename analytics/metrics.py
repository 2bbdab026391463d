"""Deflection, containment, escalation and cost, computed from the event log exactly as the README defines them.

A conversation is counted when the customer sent at least one message that
was not only a greeting. Of the counted conversations:
- escalated: a ticket was opened (a live handoff or a left message);
- contained: no ticket was opened, whatever the ending (contained + escalated = counted);
- deflected (resolved by the bot): contained, the last bot turn was not a
  failure (a fallback, or "您是想问…" suggestions left unanswered), and the same
  customer did not come back within `recontact_hours` and get escalated.
Savings = deflected x (human cost per conversation - bot cost per conversation).
Self-service resolutions = deflected conversations with at least one self-service turn (`self_service` in a
bot turn's detail: one of an order's tasks or a product question); nothing new decides
deflection: a self-service answer ending (done, refused, declined) is a bot answer like any other, and a
fallback ending (order system unavailable, order not proven, product question unknown) is a failure.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Dict, Iterable, List, Optional
from zoneinfo import ZoneInfo

from analytics.events import Event

GREETING_INTENTS = frozenset({"greet", "goodbye", "thank"})
BOT_TURNS = ("bot_answer", "clarification", "fallback", "escalation")
FAILURE_TURNS = ("clarification", "fallback")

# the self-service tasks a bot turn reports (detail.self_service), in the dashboard's order, with their labels
SELF_SERVICE_TASKS = {
    "track": "查物流",
    "not_shipped": "查发货",
    "urge": "催发货",
    "change_receiver": "改地址/电话",
    "cancel": "取消订单",
    "after_sale": "退换货/退款",
    "invoice": "开发票",
    "problem": "订单问题转人工",
    "product": "商品咨询",
}
# a self-service turn's outcome (detail.outcome); a turn without one is done when the bot answered, asked
# when it asked, unknown when it fell back (a product answer reports no outcome)
SELF_SERVICE_OUTCOMES = {
    "done": "已办理/已答复",
    "asked": "追问确认",
    "refused": "规则不允许",
    "declined": "客户未确认",
    "not_proven": "无法核实订单",
    "unavailable": "订单系统不可用",
    "unknown": "答不上来",
}
OUTCOME_OF_TURN = {"bot_answer": "done", "clarification": "asked", "fallback": "unknown"}
# what a product question was about (detail.attribute)
PRODUCT_ATTRIBUTES = {
    "price": "价格", "variants": "款式/颜色", "stock": "库存", "spec": "规格参数", "in_box": "包装清单",
    "warranty": "保修", "compare": "商品对比", "unknown": "其他",
}


@dataclass(frozen=True)
class CostSettings:
    """The cost model's inputs (settings.yml: analytics); defaults from ../shared/context.md."""

    agent_hourly_yuan: float = 120.0
    default_handling_minutes: float = 8.0
    bot_cost_yuan: float = 0.5
    monthly_system_cost_yuan: float = 20000.0
    min_tickets_for_measured_handling: int = 20
    recontact_hours: float = 24.0
    abandon_after_minutes: float = 30.0
    timezone: str = "Asia/Shanghai"

    @classmethod
    def from_settings(cls, section: Dict[str, Any]) -> CostSettings:
        known = {k: type(v)(section[k]) for k, v in cls().__dict__.items() if k in section}
        return cls(**known)


@dataclass
class Outcome:
    """How one conversation ended."""

    conversation_id: str
    customer_id: Optional[str]
    started_at: datetime
    ended_at: datetime
    counted: bool
    escalated: bool
    failure_ending: bool
    abandoned: bool
    recontact_escalated: bool = False

    @property
    def contained(self) -> bool:
        return self.counted and not self.escalated

    @property
    def deflected(self) -> bool:
        return self.contained and not self.failure_ending and not self.recontact_escalated


def outcomes(events: Iterable[Event], settings: CostSettings, now: Optional[datetime] = None) -> List[Outcome]:
    """One Outcome per conversation in `events` (give events reaching `recontact_hours` past the period)."""
    now = now or datetime.now(timezone.utc)
    by_conversation: Dict[str, List[Event]] = defaultdict(list)
    for event in events:
        by_conversation[event.conversation_id].append(event)
    results = []
    for conversation_id, items in by_conversation.items():
        items.sort(key=lambda e: e.at)
        customer = [e for e in items if e.kind == "customer_message"]
        counted = any(e.intent not in GREETING_INTENTS for e in customer)
        escalated = any(e.kind == "escalation" for e in items)
        bot_turns = [e for e in items if e.kind in BOT_TURNS]
        failure = bool(bot_turns) and bot_turns[-1].kind in FAILURE_TURNS
        resolved = any(e.kind == "resolution" for e in items)
        silent_since = customer[-1].at if customer else items[0].at
        abandoned = any(e.kind == "abandoned" for e in items) or (
            escalated and not resolved and now - silent_since > timedelta(minutes=settings.abandon_after_minutes)
        )
        results.append(Outcome(
            conversation_id, next((e.customer_id for e in items if e.customer_id), None),
            items[0].at, items[-1].at, counted, escalated, failure, abandoned,
        ))
    # re-contact: the same customer back within the window, and escalated that time
    by_customer: Dict[str, List[Outcome]] = defaultdict(list)
    for outcome in results:
        if outcome.customer_id:
            by_customer[outcome.customer_id].append(outcome)
    window = timedelta(hours=settings.recontact_hours)
    for visits in by_customer.values():
        visits.sort(key=lambda o: o.started_at)
        for index, visit in enumerate(visits):
            visit.recontact_escalated = any(
                later.escalated and visit.ended_at <= later.started_at <= visit.ended_at + window
                for later in visits[index + 1:]
            )
    return sorted(results, key=lambda o: o.started_at)


def started_in(items: List[Outcome], start: date, end: date, zone: ZoneInfo) -> List[Outcome]:
    """The conversations that started on local dates start..end (both included)."""
    first = datetime.combine(start, datetime.min.time(), tzinfo=zone)
    after = datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    return [o for o in items if first <= o.started_at < after]


def _rates(items: List[Outcome]) -> Dict[str, Any]:
    counted = [o for o in items if o.counted]
    n = len(counted)

    def rate(count: int) -> Optional[float]:
        return round(count / n, 4) if n else None

    deflected = sum(o.deflected for o in counted)
    contained = sum(o.contained for o in counted)
    escalated = sum(o.escalated for o in counted)
    return {
        "conversations": n, "deflected": deflected, "contained": contained, "escalated": escalated,
        "deflection_rate": rate(deflected), "containment_rate": rate(contained), "escalation_rate": rate(escalated),
        "fallback_endings": sum(o.contained and o.failure_ending for o in counted),
        "recontact_escalations": sum(o.contained and o.recontact_escalated for o in counted),
        "abandoned": sum(o.abandoned for o in counted),
        "greeting_only": sum(not o.counted for o in items),
    }


def _ordered(counts: Counter, known: Dict[str, str]) -> Dict[str, int]:
    """Counts in the order of `known` (those seen), then any other key, most frequent first."""
    first = {key: counts[key] for key in known if counts[key]}
    return {**first, **{key: n for key, n in counts.most_common() if key not in first}}


def self_service(items: List[Outcome], events: List[Event]) -> Dict[str, Any]:
    """Per self-service task: the counted conversations that used it, their turns by outcome, how many of
    them the bot resolved; and the self-service resolutions (deflected conversations that used any)."""
    counted = {o.conversation_id: o for o in items if o.counted}
    used: Dict[str, set] = defaultdict(set)
    outcomes_by_task: Dict[str, Counter] = defaultdict(Counter)
    attributes_by_task: Dict[str, Counter] = defaultdict(Counter)
    for event in events:
        task = (event.detail or {}).get("self_service") if event.kind in OUTCOME_OF_TURN else None
        if not task or event.conversation_id not in counted:
            continue
        task = str(task)
        used[task].add(event.conversation_id)
        outcomes_by_task[task][str(event.detail.get("outcome") or OUTCOME_OF_TURN[event.kind])] += 1
        if event.detail.get("attribute"):
            attributes_by_task[task][str(event.detail["attribute"])] += 1
    tasks = list(SELF_SERVICE_TASKS) + sorted(task for task in used if task not in SELF_SERVICE_TASKS)
    any_task = set().union(*used.values()) if used else set()
    return {
        "conversations": len(any_task),
        "resolutions": sum(counted[c].deflected for c in any_task),
        "tasks": [
            {
                "task": task, "label": SELF_SERVICE_TASKS.get(task, task),
                "conversations": len(used[task]),
                "deflected": sum(counted[c].deflected for c in used[task]),
                "turns": sum(outcomes_by_task[task].values()),
                "outcomes": _ordered(outcomes_by_task[task], SELF_SERVICE_OUTCOMES),
                "attributes": _ordered(attributes_by_task[task], PRODUCT_ATTRIBUTES),
            }
            for task in tasks
        ],
        "outcome_labels": dict(SELF_SERVICE_OUTCOMES),
        "attribute_labels": dict(PRODUCT_ATTRIBUTES),
        "definition": "自助服务解决 = 用过自助服务（查单、改单、售后、开票、商品咨询等）且由机器人解决的会话数",
    }


def period_label(moment: datetime, by: str, zone: ZoneInfo) -> str:
    """The day, ISO week or month a moment falls in, in local time."""
    local = moment.astimezone(zone).date()
    if by == "week":
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    if by == "month":
        return f"{local.year}-{local.month:02d}"
    return local.isoformat()


def _percentile(values: List[float], q: float) -> Optional[int]:
    if not values:
        return None
    ordered = sorted(values)
    return int(round(ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]))


def summary(
    events: List[Event], start: date, end: date, by: str, settings: CostSettings,
    kb_questions: Optional[Dict[str, str]] = None, now: Optional[datetime] = None,
) -> Dict[str, Any]:
    """Everything the dashboard and the report show for local dates start..end (both included)."""
    zone = ZoneInfo(settings.timezone)
    in_period = started_in(outcomes(events, settings, now), start, end, zone)
    ids = {o.conversation_id for o in in_period}
    period_events = [e for e in events if e.conversation_id in ids]

    series = defaultdict(list)
    for outcome in in_period:
        series[period_label(outcome.started_at, by, zone)].append(outcome)
    totals = _rates(in_period)

    resolutions = [e for e in period_events if e.kind == "resolution"]
    handling = [float(e.detail.get("handling_seconds", 0)) for e in resolutions if "handling_seconds" in e.detail]
    waits = [float(e.detail.get("wait_seconds", 0)) for e in resolutions if "wait_seconds" in e.detail]
    measured = len(handling) >= settings.min_tickets_for_measured_handling
    minutes = statistics.mean(handling) / 60 if measured else settings.default_handling_minutes
    source = (
        f"measured: mean of {len(handling)} resolved tickets" if measured
        else f"configured default (fewer than {settings.min_tickets_for_measured_handling} resolved tickets)"
    )
    human = settings.agent_hourly_yuan * minutes / 60
    savings = totals["deflected"] * (human - settings.bot_cost_yuan)
    days = (end - start).days + 1
    system = settings.monthly_system_cost_yuan * days / 30
    ratings = [e for e in period_events if e.kind == "rating" and e.score]
    by_agent = defaultdict(list)
    for rating in ratings:
        by_agent[rating.agent or "?"].append(rating.score)
    kb_counts = Counter(e.kb_key for e in period_events if e.kind in ("bot_answer", "suggestion_taken") and e.kb_key)
    questions = kb_questions or {}
    return {
        "period": {"from": start.isoformat(), "to": end.isoformat(), "by": by},
        "totals": totals,
        "series": [{"period": label, **_rates(items)} for label, items in sorted(series.items())],
        "cost": {
            "savings_yuan": round(savings, 2),
            "formula": "节省 = 机器人解决的会话数 × (人工单次成本 − 机器人单次成本)",
            "human_cost_per_conversation": round(human, 2),
            "human_cost_formula": (
                f"人工单次成本 = 时薪 {settings.agent_hourly_yuan:g} 元 × 平均处理时长 {minutes:.1f} 分钟 ÷ 60"
            ),
            "handling_minutes_source": source,
            "bot_cost_per_conversation": settings.bot_cost_yuan,
            "inputs": {
                "agent_hourly_yuan": settings.agent_hourly_yuan, "handling_minutes": round(minutes, 2),
                "bot_cost_yuan": settings.bot_cost_yuan, "deflected": totals["deflected"],
                "monthly_system_cost_yuan": settings.monthly_system_cost_yuan, "period_days": days,
            },
            "system_cost_yuan": round(system, 2),
            "roi": round((savings - system) / system, 4) if system else None,
            "roi_formula": (
                f"ROI = (节省 − 期间系统成本) ÷ 期间系统成本；期间系统成本 = 月成本 "
                f"{settings.monthly_system_cost_yuan:g} 元 × {days} ÷ 30"
            ),
        },
        "escalation_reasons": [
            {"reason": reason, "count": count}
            for reason, count in Counter(e.reason for e in period_events if e.kind == "escalation").most_common()
        ],
        "top_intents": [
            {"intent": intent, "count": count}
            for intent, count in Counter(
                e.intent for e in period_events if e.kind == "customer_message" and e.intent
            ).most_common(10)
        ],
        "top_kb": [
            {"key": key, "question": questions.get(key, key), "count": count}
            for key, count in kb_counts.most_common(10)
        ],
        "satisfaction": {
            "agents": {
                "average": round(statistics.mean(r.score for r in ratings), 2) if ratings else None,
                "count": len(ratings),
                "by_agent": [
                    {"name": name, "average": round(statistics.mean(scores), 2), "count": len(scores)}
                    for name, scores in sorted(by_agent.items())
                ],
            },
            "bot": {"average": None, "count": 0},
        },
        "self_service": self_service(in_period, period_events),
        "queue": {
            "tickets": sum(1 for e in period_events if e.kind == "escalation"),
            "wait_p50_s": _percentile(waits, 0.5), "wait_p90_s": _percentile(waits, 0.9),
            "handling_p50_s": _percentile(handling, 0.5), "handling_p90_s": _percentile(handling, 0.9),
        },
    }


def first_intent(events: List[Event]) -> Dict[str, Optional[str]]:
    """Each conversation's first non-greeting intent (what the customer came for)."""
    found: Dict[str, Optional[str]] = {}
    for event in sorted(events, key=lambda e: e.at):
        if event.kind == "customer_message" and event.intent not in GREETING_INTENTS:
            found.setdefault(event.conversation_id, event.intent)
    return found


def rows(
    events: List[Event], start: date, end: date, by: str, settings: CostSettings,
    categories: Optional[Dict[str, str]] = None, now: Optional[datetime] = None,
) -> List[Dict[str, Any]]:
    """The report's rows: counts and rates per day, week, month, intent or knowledge-base category."""
    zone = ZoneInfo(settings.timezone)
    in_period = started_in(outcomes(events, settings, now), start, end, zone)
    intents = first_intent(events)
    groups: Dict[str, List[Outcome]] = defaultdict(list)
    for outcome in in_period:
        if by in ("day", "week", "month"):
            key = period_label(outcome.started_at, by, zone)
        else:
            intent = intents.get(outcome.conversation_id) or "(none)"
            if by == "category":
                faq_key = intent.split("/", 1)[1] if intent.startswith("faq/") else None
                key = (categories or {}).get(faq_key, "(not a FAQ)") if faq_key else "(not a FAQ)"
            else:
                key = intent
        groups[key].append(outcome)
    ordered = sorted(groups.items()) if by in ("day", "week", "month") else sorted(
        groups.items(), key=lambda item: -len(item[1])
    )
    return [{by: key, **_rates(items)} for key, items in ordered]
