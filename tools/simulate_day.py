"""`simulate`: replays a file of customer conversations through the running product, fast, with a progress bar,
so a fresh install shows a populated dashboard.

    make run                                        # in one terminal
    .venv/bin/python -m tools.simulate_day          # in another: data/simulation/day.yml over the last 7 days

Customers talk to the gateway's WebSocket as the widget does; agent turns go
through the console API as a simulation agent (`sim-agent`, created if
missing). Afterwards each simulated conversation's events are moved to the
day and time the file gives, spread over `--days` days ending today, so the
charts have a history; agent steps are paced like a person's (AGENT_PACE).
Outside business hours, or with nobody online, escalations become left
messages (the simulation leaves a message and a phone number) and the file's
agent turns are skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import secrets
import sys
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional
from zoneinfo import ZoneInfo

import aiohttp
import yaml
from sqlalchemy import select, update
from tqdm import tqdm

from analytics.events import events as events_table

REPLY_TIMEOUT = 60
TURN_KINDS = ("customer", "agent", "resolve", "rating", "wait")


class SimulationFileError(ValueError):
    """The conversations file is malformed; the message names the conversation and turn."""


@dataclass
class Replay:
    """What happened when one conversation was replayed."""

    id: str
    session_id: Optional[str] = None
    escalated: bool = False
    left_message: bool = False
    skipped_agent_turns: int = 0
    errors: List[str] = field(default_factory=list)


def load_conversations(path: Path) -> List[Dict[str, Any]]:
    """The file's conversations, checked: ids unique, known turn kinds, times like 09:12."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise SimulationFileError(f"{path} does not exist") from None
    except yaml.YAMLError as error:
        raise SimulationFileError(f"{path} is not valid YAML: {error}") from None
    conversations = data.get("conversations") if isinstance(data, dict) else None
    if not isinstance(conversations, list) or not conversations:
        raise SimulationFileError(f"{path}: expected a non-empty list under 'conversations'")
    seen = set()
    for number, conversation in enumerate(conversations, start=1):
        name = conversation.get("id") or f"#{number}"
        if name in seen:
            raise SimulationFileError(f"{path}: conversation id {name} appears twice")
        seen.add(name)
        try:
            time.fromisoformat(str(conversation.get("at", "10:00")))
        except ValueError:
            raise SimulationFileError(f"{path}: conversation {name}: 'at' must look like 09:12") from None
        for turn_number, turn in enumerate(conversation.get("turns") or [], start=1):
            if not isinstance(turn, dict) or len(turn) != 1 or next(iter(turn)) not in TURN_KINDS:
                raise SimulationFileError(
                    f"{path}: conversation {name}, turn {turn_number}: expected one of {', '.join(TURN_KINDS)}"
                )
    return conversations


@dataclass
class ChatState:
    """What a simulated customer's widget knows, kept current by a reader of the socket."""

    buttons: List[Dict[str, str]] = field(default_factory=list)
    ticket_id: Optional[int] = None
    handoff: Optional[str] = None
    leave_requested: bool = False
    rating_requested: bool = False
    retry_after: float = 0.0
    last_ack: Optional[str] = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def take(self, frame: Dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "message" and frame.get("sender") in ("bot", "agent", "system"):
            self.buttons = frame.get("buttons") or []
        elif kind == "handoff":
            self.handoff = frame.get("state")
            if frame.get("state") in ("waiting", "assigned"):
                self.ticket_id = frame.get("ticket_id")
        elif kind == "leave_message_request":
            self.leave_requested = True
        elif kind == "rating_request":
            self.rating_requested = True
        elif kind == "ack":
            self.last_ack = frame.get("client_id")
        elif kind == "error" and frame.get("code") == "rate_limited":
            self.retry_after = float(frame.get("retry_after", 3))
        self.changed.set()


def customer_address(conversation_id: str) -> str:
    """The address a simulated customer connects from, in 198.18.0.0/15 (reserved for benchmarks, RFC 2544).
    The gateway counts its abuse limits per client address (gateway.address_*) and believes X-Forwarded-For
    from loopback (gateway.trusted_proxies), so each simulated customer is counted as the person they play,
    not all of them as one flooding client."""
    number = int(hashlib.sha256(conversation_id.encode("utf-8")).hexdigest(), 16) % (2 * 65536)
    return f"198.{18 + number // 65536}.{number // 256 % 256}.{number % 256}"


class Simulator:
    """Drives the gateway as customers and as one agent."""

    def __init__(self, base: str, agent: aiohttp.ClientSession) -> None:
        self.base = base.rstrip("/")
        self.agent = agent

    async def replay(self, http: aiohttp.ClientSession, conversation: Dict[str, Any]) -> Replay:
        result = Replay(str(conversation.get("id")))
        customer = conversation.get("customer") or {}
        metadata = {k: str(v) for k, v in customer.items() if v is not None}
        if conversation.get("page"):
            metadata["page_url"] = "https://shop.example.com" + str(conversation["page"])
        state = ChatState()
        address = {"X-Forwarded-For": customer_address(result.id)}
        async with http.ws_connect(f"{self.base}/chat/socket", timeout=30, headers=address) as ws:
            await ws.send_json({"type": "hello", "metadata": metadata})
            while True:
                frame = await self._next(ws)
                if frame["type"] == "welcome":
                    result.session_id = frame["session_id"]
                    break
            reader = asyncio.create_task(self._read(ws, state))
            try:
                for number, turn in enumerate(conversation.get("turns") or []):
                    await self._turn(ws, state, result, number, turn)
            finally:
                reader.cancel()
        result.escalated = result.escalated or state.ticket_id is not None
        return result

    async def _turn(self, ws: Any, state: ChatState, result: Replay, number: int, turn: Dict[str, Any]) -> None:
        kind, value = next(iter(turn.items()))
        if kind == "customer":
            frame: Dict[str, Any] = {"type": "message", "client_id": f"s{number}"}
            if isinstance(value, dict) and "click" in value:
                index = int(value["click"]) - 1
                if not 0 <= index < len(state.buttons):
                    return
                frame.update(text=state.buttons[index]["title"], payload=state.buttons[index]["payload"])
            else:
                frame["text"] = str(value)
            with_person = state.handoff in ("waiting", "assigned")
            await self._send(ws, state, frame, wait_for_reply=not with_person)
            if state.leave_requested:
                state.leave_requested = False
                result.left_message = True
                await self._send(ws, state, {"type": "leave_message", "text": str(frame["text"]),
                                             "phone": "13800138000"}, wait_for_reply=True)
        elif kind in ("agent", "resolve"):
            if state.ticket_id is None or state.handoff not in ("waiting", "assigned"):
                result.skipped_agent_turns += 1
                return
            await self._agent_turn(kind, state.ticket_id, str(value))
            await self._wait(state, lambda: state.handoff == "ended" if kind == "resolve" else True)
        elif kind == "rating" and state.rating_requested and isinstance(value, dict):
            state.rating_requested = False
            await self._send(ws, state, {"type": "rating", "ticket_id": state.ticket_id,
                                         "score": int(value.get("score", 5)),
                                         "comment": str(value.get("comment") or "")}, wait_for_reply=True)

    async def _send(self, ws: Any, state: ChatState, frame: Dict[str, Any], wait_for_reply: bool) -> None:
        """Sends a frame; waits for the bot's answer (or a handoff, a form, a notice), or just the ack."""
        for _attempt in range(5):
            state.retry_after = 0.0
            state.changed.clear()
            await ws.send_json(frame)
            await asyncio.wait_for(state.changed.wait(), REPLY_TIMEOUT)
            if state.retry_after:
                await asyncio.sleep(state.retry_after)
                continue
            if wait_for_reply:
                # the answer follows the ack and echo; a handoff frame follows its message
                await self._settle(state)
            return

    async def _settle(self, state: ChatState, quiet: float = 0.3) -> None:
        """Waits until the socket has been quiet for `quiet` seconds (the turn is over)."""
        deadline = asyncio.get_running_loop().time() + REPLY_TIMEOUT
        while asyncio.get_running_loop().time() < deadline:
            state.changed.clear()
            try:
                await asyncio.wait_for(state.changed.wait(), quiet)
            except asyncio.TimeoutError:
                return

    async def _wait(self, state: ChatState, condition: Any) -> None:
        deadline = asyncio.get_running_loop().time() + REPLY_TIMEOUT
        while not condition() and asyncio.get_running_loop().time() < deadline:
            state.changed.clear()
            try:
                await asyncio.wait_for(state.changed.wait(), 1)
            except asyncio.TimeoutError:
                continue
        await self._settle(state, 0.1)

    async def _read(self, ws: Any, state: ChatState) -> None:
        while True:
            state.take(await self._next(ws))

    async def _agent_turn(self, kind: str, ticket_id: int, text: str) -> None:
        # take it if it is still waiting (409 when the simulation agent already has it)
        await self.agent.post(f"{self.base}/console/api/tickets/{ticket_id}/take")
        if kind == "agent":
            await self.agent.post(f"{self.base}/console/api/tickets/{ticket_id}/messages", json={"text": text})
        else:
            await self.agent.post(f"{self.base}/console/api/tickets/{ticket_id}/resolve", json={"note": text})

    async def _next(self, ws: aiohttp.ClientWebSocketResponse) -> Dict[str, Any]:
        message = await ws.receive(timeout=REPLY_TIMEOUT)
        if message.type != aiohttp.WSMsgType.TEXT:
            raise ConnectionError(f"the gateway closed the chat socket ({message.type})")
        return message.json()


def ensure_agent(engine: Any) -> tuple:
    """The simulation agent's username and a fresh password (set anew on every run)."""
    from handoff.accounts import AgentDirectory

    directory = AgentDirectory(engine)
    password = secrets.token_urlsafe(16)
    if directory.by_username("sim-agent") is None:
        directory.add("sim-agent", "小云模拟客服", password)
    else:
        directory.set_password("sim-agent", password)
    return "sim-agent", password


AGENT_PACE = timedelta(seconds=150)  # simulated time an agent takes per reply (and to pick up a ticket)


def spread_over_days(engine: Any, placed: List[tuple], zone: ZoneInfo) -> None:
    """Moves each replayed conversation's events to its day and local start time, keeping their order.

    The simulated agent answers at machine speed; in simulated time each agent
    step (picking the ticket up, each reply, resolving) takes AGENT_PACE, so the
    dashboard's waiting and handling times look like a person's, and the
    resolution's wait and handling seconds are recomputed from those times.
    """
    columns = (events_table.c.id, events_table.c.at, events_table.c.kind, events_table.c.detail)
    with engine.begin() as connection:
        for session_id, day, start in placed:
            rows = connection.execute(
                select(*columns).where(events_table.c.conversation_id == session_id).order_by(
                    events_table.c.at, events_table.c.id)
            ).all()
            if not rows:
                continue
            first = rows[0].at
            target = datetime.combine(day, start, tzinfo=zone)
            extra = timedelta(0)
            escalated_at = picked_up_at = None
            for row in rows:
                if row.kind in ("agent_message", "resolution"):
                    extra += AGENT_PACE * (2 if picked_up_at is None else 1)
                moved = target + (row.at - first) + extra
                # stored in UTC: SQLite keeps no time zone
                values: Dict[str, Any] = {"at": moved.astimezone(timezone.utc)}
                if row.kind == "escalation" and escalated_at is None:
                    escalated_at = moved
                elif row.kind == "agent_message" and picked_up_at is None:
                    picked_up_at = moved - AGENT_PACE
                elif row.kind == "resolution" and escalated_at is not None:
                    picked_up_at = picked_up_at or moved - AGENT_PACE
                    values["detail"] = {
                        **(row.detail or {}),
                        "wait_seconds": round((picked_up_at - escalated_at).total_seconds(), 1),
                        "handling_seconds": round((moved - picked_up_at).total_seconds(), 1),
                    }
                connection.execute(update(events_table).where(events_table.c.id == row.id).values(**values))


async def run(base: str, conversations: List[Dict[str, Any]], username: str, password: str,
              concurrency: int) -> List[Replay]:
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as agent, aiohttp.ClientSession() as http:
        login = await agent.post(f"{base}/console/api/login", json={"username": username, "password": password})
        if login.status != 200:
            raise RuntimeError(f"the simulation agent could not log in at {base} (HTTP {login.status})")
        console = await agent.ws_connect(f"{base}/console/socket")  # keeps the agent online
        simulator = Simulator(base, agent)
        gate = asyncio.Semaphore(concurrency)
        bar = tqdm(total=len(conversations), unit="conversation", desc="simulating")

        async def one(conversation: Dict[str, Any]) -> Replay:
            async with gate:
                try:
                    return await simulator.replay(http, conversation)
                except Exception as error:  # noqa: BLE001 - one broken conversation must not stop the day
                    return Replay(str(conversation.get("id")), errors=[repr(error)])
                finally:
                    bar.update(1)

        results = await asyncio.gather(*(one(c) for c in conversations))
        bar.close()
        await console.close()
    return results


def main(argv: Optional[List[str]] = None) -> int:
    from core.db import create_database_engine, database_url, upgrade_schema
    from core.settings import project_path, settings

    config = settings()
    gateway = config["gateway"]
    parser = argparse.ArgumentParser(prog="python -m tools.simulate_day", description=__doc__.splitlines()[0])
    parser.add_argument("--file", default=str(project_path("data/simulation/day.yml")))
    parser.add_argument("--gateway", default=f"http://{gateway['host']}:{gateway['port']}")
    parser.add_argument("--days", type=int, default=7, help="spread the conversations over this many days")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--limit", type=int, default=0, help="replay only the first N conversations")
    args = parser.parse_args(argv)
    try:
        conversations = load_conversations(Path(args.file))
    except SimulationFileError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 2
    if args.limit:
        conversations = conversations[: args.limit]
    engine = create_database_engine(database_url())
    upgrade_schema(engine)
    username, password = ensure_agent(engine)
    try:
        results = asyncio.run(run(args.gateway, conversations, username, password, args.concurrency))
    except (aiohttp.ClientError, OSError, RuntimeError) as error:
        print(f"Error: cannot simulate against {args.gateway} ({error}). Is `make run` running?", file=sys.stderr)
        return 1
    zone = ZoneInfo(str((config.get("analytics") or {}).get("timezone", "Asia/Shanghai")))
    today = datetime.now(zone).date()
    placed = []
    customer_days: Dict[str, date] = {}
    for number, (conversation, result) in enumerate(zip(conversations, results, strict=False)):
        if result.session_id:
            day: date = today - timedelta(days=number % max(1, args.days))
            # a customer's visits stay on one day, so coming back within hours stays within hours
            customer_id = str((conversation.get("customer") or {}).get("customer_id") or "")
            if customer_id:
                day = customer_days.setdefault(customer_id, day)
            placed.append((result.session_id, day, time.fromisoformat(str(conversation.get("at", "10:00")))))
    spread_over_days(engine, placed, zone)
    failed = [r for r in results if r.errors]
    escalated = sum(r.escalated for r in results)
    left = sum(r.left_message for r in results)
    skipped = sum(r.skipped_agent_turns for r in results)
    print(f"Replayed {len(results) - len(failed)} of {len(results)} conversations over {args.days} days: "
          f"{escalated} went to a person ({left} as left messages).")
    if skipped:
        print(f"{skipped} agent turns were skipped (no live ticket: outside business hours or nobody online).")
    for result in failed[:5]:
        print(f"  {result.id}: {result.errors[0]}", file=sys.stderr)
    print(f"Open {args.gateway}/dashboard with a supervisor account to see the figures.")
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
