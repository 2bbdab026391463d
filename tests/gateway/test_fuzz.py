"""The review's fuzz, in the suite: seeded and bounded hostile input over every HTTP route (with and without
a login) and both WebSockets. No 5xx, no socket dropped, no traceback in the log, and a customer is still
served at the end (evaluation/fuzz.py makes the cases; bench/fuzz.py prints the same counts)."""

from __future__ import annotations

import logging
from dataclasses import fields

from evaluation.fuzz import (
    CAUSES,
    CONSOLE_SOCKET,
    CUSTOMER_SOCKET,
    Fuzzer,
    Generator,
    TracebackCounter,
    customer_still_served,
    log_in,
    routes_of,
    start_conversations,
)
from tests.gateway.test_handoff import add_agent

SEED = 13
CASES = 1500  # about 2,400 inputs (sockets carry several frames each), in about 20 s


def generous_limits(config):
    """The abuse limits per address out of the way: every case comes from 127.0.0.1 (they have tests of
    their own)."""
    changes = {f.name: 10**6 for f in fields(config) if f.name.startswith("address_")
               and f.name.endswith(("_burst", "_per_minute"))}
    return {**changes, "rate_limit_burst": 10**6}


async def test_hostile_input_gets_4xx_and_breaks_nothing(make_client, gateway_config, caplog):
    caplog.set_level(logging.INFO)
    client = await make_client(gateway_config, **generous_limits(gateway_config))
    add_agent(client, "li", "小李")
    add_agent(client, "zhang", "张主管", role="supervisor")
    base = str(client.make_url("")).rstrip("/")
    http = client.session
    logins = {"agent": await log_in(http, base, "li", "secret-pass-1"),
              "supervisor": await log_in(http, base, "zhang", "secret-pass-1")}
    routes = routes_of(client.server.app)
    assert {"/chat/api/hello", "/console/api/login", "/dashboard/api/export.csv"} <= {r.path for r in routes}
    cases = Generator(SEED, routes, await start_conversations(http, base, 4)).cases(CASES)
    with TracebackCounter() as tracebacks:
        counts = await Fuzzer(base, logins).run(cases)
        await customer_still_served(http, base)

    assert counts.inputs >= 2000, (counts.summary(), counts.server_errors)
    assert counts.routes == set(routes), set(routes) - counts.routes
    assert counts.by_cause.keys() == set(CAUSES)
    assert {c.socket for c in cases if hasattr(c, "socket")} == {CUSTOMER_SOCKET, CONSOLE_SOCKET}
    assert counts.by_status_class["4xx"] > 500 and counts.by_status_class["2xx"] > 100, counts.summary()
    assert not counts.server_errors, (counts.server_errors[:20], counts.slowest)
    assert counts.by_status_class["5xx"] == 0
    assert counts.dropped_sockets == 0, counts.dropped[:10]
    assert not tracebacks.records, tracebacks.described()
