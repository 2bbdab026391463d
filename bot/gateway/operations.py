"""GET /metrics: the figures an operator watches, in Prometheus's text format (scraped, or read with curl).

Shared figures (the same on every gateway, read from the database): customer messages not yet answered or
handed over and the age of the oldest (stored means handled: this should stay near zero), tickets waiting for
a person, agents online. This gateway's own figures: the bot's answer time over the last minute (p50, p95),
answers and failures in that minute, each Rasa process as this gateway sees it, connected conversations,
and messages it is answering now. nginx serves /metrics to loopback only (bot/nginx_config.py).
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import List, Tuple

from aiohttp import web

from bot.gateway.keys import CONFIG, HANDOFF, HUB, IDENTITIES, RASA, RELAY

WINDOW_SECONDS = 60.0


def _quantile(values: List[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _lines(name: str, help_text: str, samples: List[Tuple[str, float]]) -> List[str]:
    kind = "gauge"
    out = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    out += [f"{name}{labels} {value:g}" for labels, value in samples]
    return out


async def metrics(request: web.Request) -> web.Response:
    """The figures above, one per line."""
    app = request.config_dict
    hub, rasa, relay, handoff = app[HUB], app[RASA], app[RELAY], app[HANDOFF]
    pending, oldest = await hub.run_blocking(hub.store.pending_summary)
    oldest_age = (datetime.now(timezone.utc) - oldest).total_seconds() if oldest else 0.0
    waiting = len(await hub.run_blocking(handoff.queue.waiting))
    online = await handoff.agents_online()
    since = time.monotonic() - WINDOW_SECONDS
    recent = [(seconds, ok) for started, seconds, ok in list(rasa.recent) if started >= since]
    answered = [seconds for seconds, ok in recent if ok]
    replica = app[CONFIG].replica
    text = "\n".join(
        _lines("shop_pending_messages", "Customer messages stored and not yet answered or handed over (all gateways)",
               [("", pending)])
        + _lines("shop_pending_oldest_seconds", "Age of the oldest unfinished customer message", [("", oldest_age)])
        + _lines("shop_tickets_waiting", "Tickets waiting for a person", [("", waiting)])
        + _lines("shop_agents_online", "Agents whose console was seen in the last minute", [("", online)])
        + _lines("shop_bot_answer_seconds", f"The bot's answer time on {replica}, last {WINDOW_SECONDS:.0f} s",
                 [('{quantile="0.5"}', _quantile(answered, 0.5)), ('{quantile="0.95"}', _quantile(answered, 0.95))])
        + _lines("shop_bot_answers", f"Bot answers on {replica}, last {WINDOW_SECONDS:.0f} s", [("", len(answered))])
        + _lines("shop_bot_failures", f"Bot requests that failed on {replica}, last {WINDOW_SECONDS:.0f} s",
                 [("", len(recent) - len(answered))])
        + _lines("shop_rasa_up", "Each Rasa process as this gateway sees it (0: refused in the last seconds)",
                 [(f'{{url="{url}"}}', 0 if rasa.is_down(i) else 1) for i, url in enumerate(rasa.base_urls)])
        + _lines("shop_conversations_connected", f"Conversations with a client connected to {replica}",
                 [("", hub.connected_count())])
        + _lines("shop_answering_now", f"Customer messages {replica} is waiting on the bot for",
                 [("", len(relay.holding()))])
        + _lines("shop_identity_refused", f"Customer identity claims {replica} refused since it started, by reason "
                 "(the visitor continued as anonymous)",
                 [(f'{{reason="{reason}"}}', count) for reason, count in sorted(app[IDENTITIES].refused.items())])
    ) + "\n"
    return web.Response(text=text, content_type="text/plain", charset="utf-8")
