"""Hostile input for the chat gateway, seeded and bounded: every HTTP route and both WebSockets, fed the six
causes the review's fuzzer found (JSON nested ~1,000 deep, an unknown charset, integers beyond 64 bits,
lone surrogates, dates at the calendar's ends, huge ticket ids) mixed with random mutations (wrong types,
missing fields, huge strings, binary frames, bad UTF-8, odd content types).

Used by tests/gateway/test_fuzz.py (in process) and bench/fuzz.py (the counts). A run reports how many
inputs it sent, the HTTP answers by status class, the sockets that dropped (a socket must answer a ping
after any frame), and, through `TracebackCounter`, what the gateway logged as an error.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import string
import traceback
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union
from urllib.parse import quote

import aiohttp
from aiohttp import WSMsgType, web
from yarl import URL

CAUSES = ("deep", "charset", "big_int", "surrogate", "date", "ticket_id", "mutation")
CUSTOMER_SOCKET = "/chat/socket"
CONSOLE_SOCKET = "/console/socket"
LOGINS = ("none", "agent", "supervisor", "bogus")
# routes that end the caller's session (or every session of its account)
SESSION_ENDING = ("/logout", "/password")
# the share of cases that are sockets (each carries several frames)
SOCKET_SHARE = 0.25
# what aiohttp reads of a body at most (client_max_size in bot/gateway/app.py)
BODY_LIMIT = 1024 * 1024
# a socket must answer a ping this soon after the frames of a case
PONG_SECONDS = 30.0


@dataclass(frozen=True)
class Route:
    """One method and path of the app, as aiohttp's router names it (`/console/api/tickets/{ticket_id}`)."""

    method: str
    path: str


@dataclass
class HttpCase:
    """One request."""

    route: Route
    path: str
    query: str
    headers: Dict[str, str]
    body: Optional[bytes]
    login: str
    cause: str


@dataclass
class SocketCase:
    """Frames sent on one socket, then a ping that must be answered."""

    socket: str
    login: str
    frames: List[Tuple[str, Union[str, bytes]]]
    cause: str


Case = Union[HttpCase, SocketCase]


def routes_of(app: web.Application) -> List[Route]:
    """Every route of `app` and its sub-apps, HEAD and the sockets left out (sockets are `SocketCase`s)."""
    routes = []
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter") or (info.get("prefix", "") + "/widget.js")
        if route.method == "HEAD" or path in (CUSTOMER_SOCKET, CONSOLE_SOCKET):
            continue
        routes.append(Route(route.method, path))
    return sorted(set(routes), key=lambda r: (r.path, r.method))


# ---------------------------------------------------------------------------------------------- generating


def _deep(rng: random.Random) -> str:
    depth = rng.choice([40, 200, 999, 1000, 1025, 3000])
    if rng.random() < 0.5:
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


def _big_int(rng: random.Random) -> str:
    return rng.choice([
        str(2**64), str(2**64 + rng.randrange(10**6)), str(-(2**63) - 1), str(2**63), str(10**30),
        "1" + "0" * rng.choice([25, 400, 5000]), str(2**53 + 1), "-" + "9" * 40, "1e400",
    ])


def _surrogate(rng: random.Random) -> str:
    return rng.choice(['"\\ud800"', '"a\\udfffb"', '"\\ud800\\ud800"', '"\\udc00"', '"你好\\ud83d"'])


def _huge_string(rng: random.Random) -> str:
    return json.dumps(rng.choice("字a0 ") * rng.choice([10_001, 20_000, 120_000]), ensure_ascii=False)


def _wrong_type(rng: random.Random) -> str:
    return rng.choice(["null", "true", "false", "0", "-1", "1.5", "[]", "{}", '""', '"   "', '[1,"a",null]',
                       '{"x":{"y":[1]}}', '"\\u0000"', '"\\u202e\\u200b"', '"/restart"', '"<script>"'])


def _text(rng: random.Random, limit: int = 12) -> str:
    alphabet = string.ascii_letters + string.digits + "退款物流订单你好转人工-_.:/?&=%#@!+ "
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, limit)))


class Generator:
    """Makes cases from a seed: the same seed, routes and sessions give the same cases."""

    def __init__(self, seed: int, routes: Sequence[Route], sessions: Sequence[Tuple[str, str]] = ()) -> None:
        self.rng = random.Random(seed)
        self.routes = list(routes)
        # (session_id, resume_token) of real conversations, so cases reach past the session checks
        self.sessions = list(sessions) or [("none", "")]

    def cases(self, count: int) -> List[Case]:
        """`count` cases: first every route and socket with every cause, logged in as a supervisor (who
        passes every check before the body is read), then targets, causes and logins at random."""
        targets: List[Union[Route, str]] = [*self.routes, CUSTOMER_SOCKET, CONSOLE_SOCKET]
        grid = [(target, cause) for target in targets for cause in CAUSES]
        made: List[Case] = [
            self.http_case(target, cause, "supervisor") if isinstance(target, Route)
            else self.socket_case(target, cause, "supervisor")
            for target, cause in grid[:count]
        ]
        while len(made) < count:
            if self.rng.random() < SOCKET_SHARE:
                target = self.rng.choice([CUSTOMER_SOCKET, CONSOLE_SOCKET])
            else:
                target = self.rng.choice(self.routes)
            cause = self.rng.choice(CAUSES)
            if isinstance(target, Route):
                made.append(self.http_case(target, cause))
            else:
                made.append(self.socket_case(target, cause))
        return made

    # values

    def fragment(self, name: str, cause: str) -> str:
        """JSON text for field `name`: plausible, or hostile by `cause`."""
        rng = self.rng
        if cause == "deep" and rng.random() < 0.5:
            return _deep(rng)
        if cause == "big_int" and rng.random() < 0.5:
            return _big_int(rng)
        if cause == "surrogate" and rng.random() < 0.5:
            return _surrogate(rng)
        if cause == "mutation" and rng.random() < 0.6:
            return rng.choice([_wrong_type, _huge_string, _wrong_type, _big_int, _surrogate])(rng)
        return json.dumps(self.plausible(name), ensure_ascii=False)

    def plausible(self, name: str) -> Any:
        rng = self.rng
        session_id, token = rng.choice(self.sessions)
        values: Dict[str, Any] = {
            "type": rng.choice(["hello", "message", "ping", "cancel_handoff", "rating", "leave_message", "auth",
                                "hello ", "", "MESSAGE"]),
            "session_id": rng.choice([session_id, session_id, _text(rng), "a" * 65]),
            "resume_token": rng.choice([token, token, _text(rng, 43)]),
            "client_id": f"fz-{rng.randrange(10**6)}",
            "text": rng.choice(["你好", "退款多久到账", "转人工", "我的手机13800138000", "=HYPERLINK(\"http://x\",\"y\")",
                                "=1+2", _text(rng, 40)]),
            "payload": rng.choice(['/faq{"faq_key":"refund_arrival_time"}', "/greet", _text(rng)]),
            "last_seq": rng.choice([0, 1, 5, 10**6]),
            "metadata": {"page_url": "https://shop.example.com/p/1", "name": rng.choice(["王女士", _text(rng)]),
                         "order_number": "2024061812345678", "customer_id": "C1"},
            "identity": {"customer_id": "C1", "tier": "gold", "expires_at": rng.choice([0, 1796572800, -1]),
                         "signature": _text(rng, 64)},
            "score": rng.choice([1, 3, 5, 0, 6]),
            "rating": rng.choice([1, 5, 9]),
            "comment": _text(rng, 30),
            "phone": rng.choice(["13800138000", "+86 138 0013 8000", "123", _text(rng)]),
            "message": _text(rng, 30),
            "username": rng.choice(["li", "zhang", "ghost", _text(rng)]),
            "password": rng.choice(["secret-pass-1", _text(rng, 20)]),
            "old_password": _text(rng, 20),
            "new_password": _text(rng, 20),
            "to": rng.choice(["li", "zhang", _text(rng)]),
            "note": _text(rng, 40),
            "customer_id": rng.choice(["C1", "C20017", _text(rng)]),
            "conversation_id": rng.choice([session_id, _text(rng)]),
            "token": _text(rng, 43),
        }
        return values.get(name, _text(rng))

    def body(self, cause: str, kind: Optional[str] = None) -> bytes:
        """A JSON object of random known fields (or, sometimes, no object at all)."""
        rng = self.rng
        roll = rng.random()
        if cause == "mutation" and roll < 0.25:
            return rng.choice([
                b"", b"{", b"}{", b"[1,]", b"NaN", b'"just a string"', b"[]", b"null", b"1",
                bytes(rng.randrange(256) for _ in range(rng.randint(1, 64))), b'{"text": "\xff\xfe"}',
                b'{"a": "\xed\xa0\x80"}', b"\xef\xbb\xbf{}", b'{"type": "hello"} trailing',
            ])
        if cause == "deep" and roll < 0.3:
            return _deep(rng).encode()
        names = rng.sample(FIELD_NAMES, rng.randint(1, 6))
        if kind:
            names = ["type", *names]
        fields = {name: self.fragment(name, cause) for name in names}
        if kind:
            fields["type"] = json.dumps(kind)
        return ("{" + ",".join(f"{json.dumps(name)}:{value}" for name, value in fields.items()) + "}").encode()

    def content_type(self, cause: str) -> Optional[str]:
        rng = self.rng
        if cause == "charset" or (cause == "mutation" and rng.random() < 0.5):
            return rng.choice([
                "application/json; charset=klingon", "application/json; charset=utf-16", "text/plain; charset=latin-1",
                'application/json; charset=""', "application/json; charset=", "application/x-www-form-urlencoded",
                "multipart/form-data; boundary=x", "application/json; charset=utf-8; charset=ebcdic", "*/*",
                "application/json;charset=x-unknown-" + _text(rng, 8), None,
            ])
        return rng.choice(["application/json", "application/json; charset=utf-8", "text/plain;charset=UTF-8"])

    def path_value(self, name: str, cause: str) -> str:
        rng = self.rng
        if name == "ticket_id":
            if cause in ("ticket_id", "big_int", "mutation") or rng.random() < 0.3:
                return rng.choice(["99999999999999999999999", "9223372036854775808", "2147483648", "-1", "0",
                                   "١٢", "1e3", "abc", "%20", "1_000", "x" * 300, "9" * 400, "%ff", "1.5"])
            return str(rng.randint(1, 5))
        # never the run's own accounts (a disabled account would end their sessions)
        return rng.choice(["ghost", "nobody", "%ff%fe", "x" * 300, "%00", quote("\u202e名字"), _text(rng)])

    def query_value(self, name: str, cause: str) -> str:
        rng = self.rng
        if name in ("from", "to") and (cause in ("date", "mutation") or rng.random() < 0.4):
            return rng.choice(["9999-12-31", "9999-12-25", "0001-01-01", "0001-01-02", "2026-02-30", "99999-01-01",
                               "2026-13-01", "1969-12-31", "", "today", "2026-11-24T00:00:00", "%ff"])
        if name == "wait" and cause in ("big_int", "mutation", "ticket_id"):
            # a large finite wait is a valid long poll (capped at 25 s): only what is not a number here
            return rng.choice(["nan", "inf", "-inf", "1e309", "0x10", "", "%ff", "١٢", "1_0", "-1"])
        if name in ("after", "limit") and cause in ("big_int", "mutation", "ticket_id"):
            return rng.choice(["9" * 30, str(2**64), "-1", "nan", "inf", "-inf", "1e309", "0x10", "", "%ff",
                               "١٢", "1_0"])
        plain = {
            "session_id": rng.choice(self.sessions)[0], "after": str(rng.choice([0, 1, 3])),
            # long polls would only make the run slow: never more than a blink
            "wait": rng.choice(["0", "0.01"]),
            "q": rng.choice(["退款", "", "x" * 500]), "by": rng.choice(["day", "week", "month", "year", ""]),
            "from": "2026-11-01", "to": "2026-11-07", "customer_id": "C1",
        }
        return quote(plain[name]) if name in plain else quote(_text(rng))

    # cases

    def http_case(self, route: Route, cause: str, login: Optional[str] = None) -> HttpCase:
        rng = self.rng
        path = re.sub(r"\{(\w+)(:[^}]*)?\}", lambda m: self.path_value(m.group(1), cause), route.path)
        names = rng.sample(QUERY_NAMES, rng.randint(0, 4))
        if route.path.startswith("/dashboard/api/") and cause == "date":
            names = ["from", "to"]
        if route.path == "/chat/api/events":
            names = sorted({"session_id", "wait", *names})
        query = "&".join(f"{name}={self.query_value(name, cause)}" for name in names)
        headers: Dict[str, str] = {}
        body = None
        if route.method in ("POST", "PUT", "PATCH", "DELETE"):
            body = self.body(cause)
            if cause == "mutation" and rng.random() < 0.03:
                body = b'{"text": "' + b"x" * (BODY_LIMIT + 10) + b'"}'
            content_type = self.content_type(cause)
            if content_type:
                headers["Content-Type"] = content_type
        login = login or rng.choice(LOGINS)
        if route.path.endswith(SESSION_ENDING):
            # the run's own sessions must live to the end: these only without a valid login
            login = rng.choice(("none", "bogus"))
        if route.path.startswith("/chat/api/") and rng.random() < 0.7:
            headers["X-Resume-Token"] = rng.choice(self.sessions)[1] or "none"
        if rng.random() < 0.1:
            headers["Origin"] = rng.choice(["https://evil.example", "null", "https://shop.example.com"])
        return HttpCase(route, path, query, headers, body, login, cause)

    def socket_case(self, socket: str, cause: str, login: Optional[str] = None) -> SocketCase:
        rng = self.rng
        frames: List[Tuple[str, Union[str, bytes]]] = []
        if socket == CUSTOMER_SOCKET and rng.random() < 0.7:
            frames.append(("text", self.body("none", "hello").decode("utf-8")))
        kinds = ["hello", "message", "ping", "cancel_handoff", "rating", "leave_message", "auth", "nonsense"]
        for _ in range(rng.randint(1, 5)):
            roll = rng.random()
            if roll < 0.1:
                frames.append(("binary", rng.choice([
                    b'{"type": "ping"}', b"\xff\xfe\xfd", bytes(rng.randrange(256) for _ in range(32)),
                    b'{"type": "message", "text": "\xed\xa0\x80"}',
                ])))
            elif roll < 0.15 and cause in ("mutation", "deep"):
                frames.append(("text", rng.choice([DEEP_TEXT, "x" * 300_000, '"' + "字" * 90_000 + '"'])))
            else:
                body = self.body(cause, rng.choice(kinds))
                try:
                    frames.append(("text", body.decode("utf-8")))
                except UnicodeDecodeError:  # a text frame must be UTF-8: the bytes go as a binary frame
                    frames.append(("binary", body))
        if socket == CUSTOMER_SOCKET:
            login = "none"
        else:
            login = login or rng.choice(["agent", "supervisor", "agent", "none"])
        return SocketCase(socket, login, frames, cause)


FIELD_NAMES = ["type", "session_id", "resume_token", "client_id", "text", "payload", "last_seq", "metadata",
               "identity", "score", "rating", "comment", "phone", "message", "username", "password", "old_password",
               "new_password", "to", "note", "customer_id", "conversation_id", "token", "extra"]
QUERY_NAMES = ["session_id", "after", "wait", "q", "from", "to", "by", "customer_id", "limit", "token", "zzz"]
DEEP_TEXT = "[" * 1000 + "]" * 1000


# ---------------------------------------------------------------------------------------------- running


@dataclass
class FuzzCounts:
    """What a run sent and what came back."""

    inputs: int = 0
    http_requests: int = 0
    by_status_class: Counter = field(default_factory=Counter)
    socket_frames: int = 0
    sockets: int = 0
    dropped_sockets: int = 0
    refused_sockets: int = 0
    by_cause: Counter = field(default_factory=Counter)
    routes: set = field(default_factory=set)
    server_errors: List[str] = field(default_factory=list)
    dropped: List[str] = field(default_factory=list)
    # the five slowest cases: (seconds, what)
    slowest: List[Tuple[float, str]] = field(default_factory=list)

    def summary(self) -> Dict[str, Any]:
        """The figures, JSON-ready."""
        return {
            "inputs": self.inputs, "http_requests": self.http_requests,
            "by_status_class": dict(sorted(self.by_status_class.items())), "socket_frames": self.socket_frames,
            "sockets": self.sockets, "dropped_sockets": self.dropped_sockets,
            "refused_sockets": self.refused_sockets, "by_cause": dict(sorted(self.by_cause.items())),
        }


class TracebackCounter(logging.Handler):
    """Counts what the gateway logs as a failure: ERROR or worse, anything with exc_info, any 'Traceback'."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: List[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info or "Traceback" in record.getMessage():
            self.records.append(record)

    def described(self, limit: int = 10) -> List[str]:
        """The first records, each with its exception and where it was raised."""
        lines = []
        for record in self.records[:limit]:
            line = f"{record.name}: {record.getMessage()[:300]}"
            if record.exc_info and record.exc_info[1] is not None:
                error = record.exc_info[1]
                where = traceback.extract_tb(error.__traceback__)[-3:]
                line += f" | {type(error).__name__}: {str(error)[:200]} at " + " <- ".join(
                    f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}" for f in reversed(where))
            lines.append(line)
        return lines

    def __enter__(self) -> TracebackCounter:
        logging.getLogger().addHandler(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        logging.getLogger().removeHandler(self)


async def log_in(http: aiohttp.ClientSession, base_url: str, username: str, password: str) -> Dict[str, str]:
    """The Authorization header of a console session."""
    async with http.post(f"{base_url}/console/api/login", json={"username": username, "password": password}) as r:
        if r.status != 200:
            raise RuntimeError(f"could not log {username} in: {r.status} {await r.text()}")
        return {"Authorization": f"Bearer {(await r.json())['token']}"}


async def start_conversations(http: aiohttp.ClientSession, base_url: str, count: int) -> List[Tuple[str, str]]:
    """(session_id, resume_token) of `count` new conversations, for cases to use."""
    sessions = []
    for _ in range(count):
        async with http.post(f"{base_url}/chat/api/hello", json={}) as response:
            welcome = await response.json()
        sessions.append((welcome["session_id"], welcome.get("resume_token", "")))
    return sessions


class Fuzzer:
    """Sends cases to a gateway at `base_url`, `concurrency` at a time, and counts the answers.

    Every case has a connection of its own: cases do not affect each other through one, and aiohttp 3.9's
    client stalls the next request on a kept-alive connection after the server answered a large body
    before reading it (the server answers it at once: checked with a raw socket)."""

    def __init__(self, base_url: str, logins: Dict[str, Dict[str, str]], concurrency: int = 8) -> None:
        self.http: Optional[aiohttp.ClientSession] = None
        self.base_url = base_url.rstrip("/")
        self.logins = {"none": {}, "bogus": {"Authorization": "Bearer not-a-session"}, **logins}
        self.concurrency = concurrency
        self.counts = FuzzCounts()

    async def run(self, cases: Sequence[Case]) -> FuzzCounts:
        """Sends every case; returns the counts (also kept in `self.counts`)."""
        gate = asyncio.Semaphore(self.concurrency)

        loop = asyncio.get_running_loop()

        async def one(case: Case) -> None:
            async with gate:
                self.counts.by_cause[case.cause] += 1
                started = loop.time()
                if isinstance(case, HttpCase):
                    await self._http(case)
                else:
                    await self._socket(case)
                took = loop.time() - started
                described = (f"{case.route.method} {case.path[:80]}?{case.query[:80]}" if isinstance(case, HttpCase)
                             else f"{case.socket} {case.login} {case.frames[:2]!r:.160}")
                self.counts.slowest = sorted([*self.counts.slowest, (took, f"{described} ({case.cause})")])[-5:]

        connector = aiohttp.TCPConnector(force_close=True, limit=self.concurrency * 2)
        async with aiohttp.ClientSession(connector=connector) as self.http:
            await asyncio.gather(*(one(case) for case in cases))
        return self.counts

    async def _http(self, case: HttpCase) -> None:
        url = URL(self.base_url + case.path + ("?" + case.query if case.query else ""), encoded=True)
        headers = {**self.logins.get(case.login, {}), **case.headers}
        counts = self.counts
        counts.inputs += 1
        counts.http_requests += 1
        counts.routes.add(case.route)
        try:
            async with self.http.request(case.route.method, url, data=case.body, headers=headers,
                                         skip_auto_headers=("Content-Type",)) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            if case.body is not None and len(case.body) > BODY_LIMIT:
                # the server may answer 413 and close before the client has sent it all: a refusal too
                counts.by_status_class["closed: body over the limit"] += 1
                return
            counts.by_status_class["no answer"] += 1
            counts.server_errors.append(f"{case.route.method} {case.path} ({case.cause}): {type(error).__name__}")
            return
        counts.by_status_class[f"{status // 100}xx"] += 1
        if status >= 500:
            counts.server_errors.append(f"{case.route.method} {case.path} ({case.cause}) -> {status}")

    async def _socket(self, case: SocketCase) -> None:
        counts = self.counts
        counts.sockets += 1
        counts.inputs += len(case.frames)
        counts.socket_frames += len(case.frames)
        headers = self.logins.get(case.login, {})
        try:
            ws = await self.http.ws_connect(self.base_url + case.socket, headers=headers, max_msg_size=0)
        except aiohttp.WSServerHandshakeError as refused:
            if refused.status >= 500:
                counts.by_status_class["5xx"] += 1
                counts.server_errors.append(f"upgrade {case.socket} ({case.cause}) -> {refused.status}")
            else:
                counts.refused_sockets += 1
            return
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            counts.dropped_sockets += 1
            counts.dropped.append(f"{case.socket} ({case.cause}) not opened: {type(error).__name__}")
            return
        try:
            for kind, data in case.frames:
                if kind == "binary":
                    await ws.send_bytes(data)  # type: ignore[arg-type]
                else:
                    await ws.send_str(data)  # type: ignore[arg-type]
            await ws.send_str('{"type": "ping"}')
            answered = await self._pong(ws)
        except (aiohttp.ClientError, ConnectionResetError):
            answered = False
        finally:
            await ws.close()
        if answered:
            return
        if case.socket == CONSOLE_SOCKET and case.login == "none" and ws.close_code == 4001:
            counts.refused_sockets += 1  # not logged in: the console closes it, as it should
            return
        counts.dropped_sockets += 1
        counts.dropped.append(f"{case.socket} ({case.cause}) closed {ws.close_code}: {case.frames[:3]!r:.300}")

    @staticmethod
    async def _pong(ws: aiohttp.ClientWebSocketResponse) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + PONG_SECONDS
        while True:
            try:
                received = await ws.receive(timeout=max(0.01, deadline - loop.time()))
            except asyncio.TimeoutError:
                return False
            if received.type != WSMsgType.TEXT:
                return False
            if '"pong"' in received.data:
                return True


async def customer_still_served(http: aiohttp.ClientSession, base_url: str, timeout: float = 15.0) -> List[dict]:
    """A plain hello and message on a new customer socket; the frames up to the bot's answer (or a notice
    that the bot is unavailable). Raises AssertionError when the gateway does not serve a customer."""
    async with http.ws_connect(base_url.rstrip("/") + CUSTOMER_SOCKET) as ws:
        await ws.send_str('{"type": "hello"}')
        await ws.send_str('{"type": "message", "client_id": "after-fuzz", "text": "你好"}')
        frames: List[dict] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            try:
                received = await ws.receive(timeout=max(0.01, deadline - loop.time()))
            except asyncio.TimeoutError:
                break
            if received.type != WSMsgType.TEXT:
                break
            frame = json.loads(received.data)
            frames.append(frame)
            if frame.get("type") == "message" and frame.get("sender") == "bot" or frame.get("type") == "notice":
                if any(f.get("type") == "ack" for f in frames):
                    return frames
    raise AssertionError(f"the gateway no longer serves a customer: {frames}")
