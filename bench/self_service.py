"""Order self-service and product answers on realistic messages, end to end: for each message of
evaluation/order_product_set.yml, a new conversation on the gateway's WebSocket (as a verified demo customer
or an anonymous visitor, on a product's page or not), then what the bot's turn reported in Rasa's tracker
(its `analytics`, or its handoff) against the message's `expect`.

The goal it measures: the right action or answer on at least 95% of the messages. It prints the figures and
every miss; it asserts nothing.

Run: `make bench` (all) or `PYTHONPATH=. .venv/bin/python -m bench.self_service [--model models/shop.tar.gz]
[--limit 10] [--concurrency 8] [--train] [--logs DIR]`. Without a model at `--model` it trains one there first (as
`make train` does); `--train` trains a fresh one in a temporary folder (for NLU or rules being edited).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import aiohttp
import yaml

from bench.server_speed import percentile
from core.customer_identity import signed_claim
from core.settings import PROJECT_ROOT
from evaluation.live_stack import STACK_IDENTITY_SECRET, RunningStack, rasa_env, running_stack

SET_PATH = PROJECT_ROOT / "evaluation" / "order_product_set.yml"
CUSTOMERS_PATH = PROJECT_ROOT / "data" / "demo" / "customers.yml"
ORDERS_PATH = PROJECT_ROOT / "data" / "demo" / "orders.yml"
CATALOG_PATH = PROJECT_ROOT / "data" / "catalog" / "products.yml"
TRAINING_INPUTS = ("data/nlu", "data/rules", "config.yml", "domain.yml")

# what a route's expectation names, and the values it may take (evaluation/order_product_set.yml's header)
ROUTE_DETAIL = {"order": "self_service", "product": "attribute", "faq": "kb_key"}
SELF_SERVICE_TASKS = ("track", "not_shipped", "urge", "change_receiver", "cancel", "after_sale", "invoice", "problem")
PRODUCT_ATTRIBUTES = ("price", "variants", "stock", "spec", "in_box", "warranty", "compare", "unknown")

REPLY_TIMEOUT = 30.0
# the socket has been quiet this long after the bot's first reply: its turn is over
QUIET_SECONDS = 0.5
# how long the tracker may take to show the bot's turn after the reply frames came
TRACKER_SECONDS = 5.0
# a closed socket is opened again this many times per message
RECONNECTS = 2


@dataclass(frozen=True)
class LabelledMessage:
    """One message of the set, its context and what the bot must do with it."""

    text: str
    expect: Dict[str, Any]
    customer: Optional[str] = None
    page_product: Optional[str] = None

    @property
    def group(self) -> str:
        """`order/track`, `product/price`, `faq`: the line of the table it counts in."""
        route = self.expect["route"]
        detail = self.expect.get(ROUTE_DETAIL.get(route, ""))
        return f"{route}/{detail}" if route != "faq" and detail else route

    @property
    def context(self) -> str:
        who = self.customer or "anonymous"
        return f"{who}, page {self.page_product}" if self.page_product else who


@dataclass
class Outcome:
    """What the bot did with one message."""

    got: Dict[str, Any] = field(default_factory=dict)
    intent: str = ""
    reply: str = ""
    first_reply_seconds: Optional[float] = None
    # the page's product reached Rasa in the message's metadata
    product_id_seen: Optional[bool] = None
    # times the gateway closed the socket and it was opened again, as the widget does
    reconnects: int = 0
    # the customer was put through to a person (a handoff frame, or the form for a message to leave)
    handed_over: bool = False
    error: Optional[str] = None


def load_set(path: Path = SET_PATH) -> List[LabelledMessage]:
    """The labelled messages, in file order."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        LabelledMessage(
            text=str(item["text"]), expect=dict(item["expect"]),
            customer=item.get("customer"), page_product=item.get("page_product"),
        )
        for item in document["messages"]
    ]


def demo_customers() -> Dict[str, str]:
    """The demo customers' ids and tiers (data/demo/customers.yml)."""
    document = yaml.safe_load(CUSTOMERS_PATH.read_text(encoding="utf-8"))
    return {c["id"]: c.get("tier") or "" for c in document["customers"]}


def catalog_entries(document: Any) -> Iterator[Dict[str, Any]]:
    items = document.get("products") if isinstance(document, dict) else document
    if isinstance(items, dict):  # {product_id: {...}}
        items = [{"id": key, **(value or {})} for key, value in items.items()]
    for item in items or []:
        if isinstance(item, dict):
            yield item


def product_names() -> Dict[str, str]:
    """Product id -> name: data/catalog/products.yml when it exists, else the products of the demo orders."""
    names: Dict[str, str] = {}
    orders = yaml.safe_load(ORDERS_PATH.read_text(encoding="utf-8"))
    for order in orders["orders"]:
        for item in order.get("items") or []:
            names.setdefault(item["product_id"], item["name"])
    if CATALOG_PATH.exists():
        for item in catalog_entries(yaml.safe_load(CATALOG_PATH.read_text(encoding="utf-8"))):
            product_id = item.get("id") or item.get("product_id")
            if product_id and item.get("name"):
                names[str(product_id)] = str(item["name"])
    return names


def spread(messages: Sequence[LabelledMessage], limit: Optional[int]) -> List[LabelledMessage]:
    """`limit` messages for a short run: each route's share of them (at least one), taken evenly through that
    route's messages (the file lists them task by task), in file order; all of them without a limit."""
    if not limit or limit >= len(messages):
        return list(messages)
    by_route: Dict[str, List[int]] = defaultdict(list)
    for index, message in enumerate(messages):
        by_route[message.expect["route"]].append(index)
    shares = {route: max(1, round(limit * len(indices) / len(messages))) for route, indices in by_route.items()}
    while sum(shares.values()) > limit and max(shares.values()) > 1:
        shares[max(shares, key=shares.__getitem__)] -= 1
    chosen = []
    for route, indices in by_route.items():
        step = len(indices) / shares[route]
        chosen += [indices[int(i * step)] for i in range(min(shares[route], len(indices)))]
    return [messages[i] for i in sorted(chosen)[:limit]]


def reading_of_turn(events: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    """What the bot's turn after the last customer message reported: the first `analytics` among its bot
    events (route, self_service, attribute, kb_key, event) and its handoff's reason, as comparable keys."""
    users = [i for i, e in enumerate(events) if e.get("event") == "user"]
    if not users:
        return {}
    analytics: Optional[Dict[str, Any]] = None
    handoff: Optional[Dict[str, Any]] = None
    for event in events[users[-1] + 1:]:
        if event.get("event") != "bot":
            continue
        custom = (event.get("data") or {}).get("custom") or {}
        if analytics is None and isinstance(custom.get("analytics"), dict):
            analytics = custom["analytics"]
        if handoff is None and isinstance(custom.get("handoff"), dict):
            handoff = custom["handoff"]
    got: Dict[str, Any] = {}
    for key in ("route", "self_service", "attribute", "kb_key", "event"):
        if analytics and analytics.get(key) is not None:
            got[key] = analytics[key]
    if "route" not in got and analytics and analytics.get("event") == "bot_answer" and analytics.get("kb_key"):
        got["route"] = "faq"
    if handoff:
        got["handoff"] = handoff.get("reason")
        if handoff.get("reason") == "order_issue" and got.get("route") in (None, "order") and not got.get(
                "self_service"):
            # a problem with one order, handed to a person with the order
            got["route"], got["self_service"] = "order", "problem"
        got.setdefault("route", "handoff")
    return got


def matches(expect: Dict[str, Any], got: Dict[str, Any]) -> bool:
    """Every expected key matches (`kb_key`: any of the listed entries), and:
    - a product question is answered: a turn reported as `fallback` (the bot said it cannot answer) counts
      only for `attribute: unknown`, and there it counts whatever attribute the turn names;
    - a policy question (route faq) leaves no form running."""
    if expect.get("route") == "product" and got.get("route") == "product":
        said_it_cannot = got.get("event") == "fallback"
        if expect.get("attribute") == "unknown":
            return said_it_cannot or got.get("attribute") == "unknown"
        if said_it_cannot:
            return False
    for key, wanted in expect.items():
        if key == "kb_key":
            allowed = wanted if isinstance(wanted, list) else [wanted]
            if got.get(key) not in allowed:
                return False
        elif got.get(key) != wanted:
            return False
    return not (expect.get("route") == "faq" and got.get("form"))


class SelfServiceRun:
    """Sends each message as a new customer conversation and reads the bot's turn back from Rasa."""

    def __init__(self, stack: RunningStack, names: Dict[str, str], tiers: Dict[str, str]) -> None:
        self.gateway = stack.gateway_url.rstrip("/")
        self.stack = stack
        self.names = names
        self.tiers = tiers
        # each conversation's resume token, as the widget keeps it: a reconnect without it starts a new one
        self.tokens: Dict[str, str] = {}

    async def run_all(self, messages: Sequence[LabelledMessage], concurrency: int) -> List[Outcome]:
        gate = asyncio.Semaphore(concurrency)
        done = 0

        async def one(http: aiohttp.ClientSession, message: LabelledMessage) -> Outcome:
            nonlocal done
            async with gate:
                try:
                    return await self.observe(http, message)
                except Exception as error:  # noqa: BLE001 - one broken conversation is reported, not fatal
                    return Outcome(error=repr(error))
                finally:
                    done += 1
                    if done % 20 == 0 or done == len(messages):
                        print(f"  {done}/{len(messages)} messages", file=sys.stderr, flush=True)

        async with aiohttp.ClientSession() as http:
            # one message of each route first, not counted: the first turns of fresh processes are slow
            firsts = {m.expect["route"]: m for m in reversed(messages)}
            await asyncio.gather(*(self.observe(http, m) for m in firsts.values()), return_exceptions=True)
            return list(await asyncio.gather(*(one(http, m) for m in messages)))

    def _metadata(self, message: LabelledMessage) -> Dict[str, str]:
        if not message.page_product:
            return {}
        return {"product_id": message.page_product,
                "page_title": self.names.get(message.page_product, message.page_product)}

    async def _session(
        self, http: aiohttp.ClientSession, ws: Any, message: LabelledMessage, session_id: Optional[str],
    ) -> str:
        """Says hello on `ws` (resuming `session_id` when given) and returns the conversation's id. A verified
        customer's hello alone would resume their latest conversation, so theirs starts anonymous (HTTP hello)
        and they sign in to it."""
        metadata = self._metadata(message)
        hello: Dict[str, Any] = {"type": "hello", "metadata": metadata}
        if message.customer and session_id is None:
            async with http.post(f"{self.gateway}/chat/api/hello", json={"metadata": metadata}) as response:
                started = await response.json()
            if response.status != 200 or "session_id" not in started:
                raise RuntimeError(f"HTTP hello refused: {response.status} {started}")
            session_id = started["session_id"]
            self.tokens[session_id] = started["resume_token"]
        if session_id:
            hello["session_id"] = session_id
            hello["resume_token"] = self.tokens[session_id]
        if message.customer:
            hello["identity"] = signed_claim(STACK_IDENTITY_SECRET, message.customer,
                                             self.tiers.get(message.customer, ""))
        await ws.send_json(hello)
        while True:
            frame = await _next(ws, REPLY_TIMEOUT)
            if frame.get("type") == "welcome":
                if session_id and frame["session_id"] != session_id:
                    raise RuntimeError("the gateway did not resume the conversation")
                if frame.get("resume_token"):
                    self.tokens[frame["session_id"]] = frame["resume_token"]
                return frame["session_id"]
            if frame.get("type") == "error":
                raise RuntimeError(f"hello refused: {frame}")

    async def observe(self, http: aiohttp.ClientSession, message: LabelledMessage) -> Outcome:
        outcome = Outcome()
        session_id: Optional[str] = None
        sent: Optional[float] = None
        frame = {"type": "message", "client_id": "m1", "text": message.text,
                 **({"metadata": self._metadata(message)} if message.page_product else {})}
        for attempt in range(RECONNECTS + 1):
            try:
                async with http.ws_connect(f"{self.gateway}/chat/socket", timeout=REPLY_TIMEOUT) as ws:
                    session_id = await self._session(http, ws, message, session_id)
                    if sent is None:
                        sent = time.perf_counter()
                    # after a reconnect, the same client id: stored and answered once (docs/chat-protocol.md);
                    # an answer given meanwhile comes with the history after the welcome
                    await ws.send_json(frame)
                    await self._read_turn(ws, sent, outcome)
                break
            except ConnectionError:
                # the gateway closed the socket (e.g. its database was busy): the widget reconnects
                if attempt == RECONNECTS:
                    raise
                outcome.reconnects += 1
        assert session_id is not None
        tracker = await self._tracker(http, session_id, outcome.handed_over)
        events = tracker.get("events") or []
        if any(e.get("event") == "user" for e in events):
            got = reading_of_turn(events)
        else:
            # Rasa never saw the message: the gateway handled it itself (e.g. words that go straight to a person)
            got = {"route": "handoff", "by": "gateway"} if outcome.handed_over else {"route": "none", "by": "gateway"}
        form = (tracker.get("active_loop") or {}).get("name")
        if form:
            got["form"] = form
        outcome.got = got
        latest = tracker.get("latest_message") or {}
        intent = latest.get("intent") or {}
        if intent.get("name"):
            outcome.intent = f"{intent['name']} {float(intent.get('confidence') or 0):.2f}"
        if message.page_product:
            outcome.product_id_seen = (latest.get("metadata") or {}).get("product_id") == message.page_product
        return outcome

    async def _read_turn(self, ws: Any, sent: float, outcome: Outcome) -> None:
        """Reads the bot's reply frames until the socket is quiet; notes when the first one came."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + REPLY_TIMEOUT
        while loop.time() < deadline:
            answered = outcome.first_reply_seconds is not None
            try:
                frame = await _next(ws, QUIET_SECONDS if answered else max(deadline - loop.time(), 0.01))
            except asyncio.TimeoutError:
                if answered:
                    return
                raise TimeoutError(f"no reply within {REPLY_TIMEOUT:.0f} s") from None
            kind = frame.get("type")
            reply = (kind == "message" and frame.get("sender") in ("bot", "agent", "system")) or kind in (
                "handoff", "leave_message_request")
            if kind == "notice" and frame.get("code") == "bot_unavailable":
                raise RuntimeError(f"bot unavailable: {frame.get('text')}")
            if kind == "error":
                raise RuntimeError(f"gateway refused the message: {frame}")
            if kind == "leave_message_request" or (kind == "handoff" and frame.get("state") in ("waiting", "assigned")):
                outcome.handed_over = True
            if reply:
                if not answered:
                    outcome.first_reply_seconds = time.perf_counter() - sent
                if kind == "message" and not outcome.reply:
                    outcome.reply = frame.get("text") or ""

    async def _tracker(self, http: aiohttp.ClientSession, session_id: str, handed_over: bool) -> Dict[str, Any]:
        """Rasa's tracker once it holds the bot's turn on the message (or after TRACKER_SECONDS; at once when
        the customer went to a person and Rasa has no message: the gateway handed it over itself)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TRACKER_SECONDS
        while True:
            async with http.get(self.stack.rasa_api(f"/conversations/{session_id}/tracker")) as response:
                response.raise_for_status()
                tracker = await response.json()
            events = tracker.get("events") or []
            users = [i for i, e in enumerate(events) if e.get("event") == "user"]
            if not users and handed_over:
                return tracker
            turn_done = users and any(e.get("event") == "action" and e.get("name") == "action_listen"
                                      for e in events[users[-1] + 1:])
            if turn_done or loop.time() > deadline:
                return tracker
            await asyncio.sleep(0.2)


async def _next(ws: Any, timeout: float) -> Dict[str, Any]:
    received = await ws.receive(timeout=timeout)
    if received.type != aiohttp.WSMsgType.TEXT:
        raise ConnectionError(f"the gateway closed the chat socket ({received.type})")
    return received.json()


def train(model: Path) -> None:
    """Trains the shop's model to `model` as `make train` does (NLU and rules)."""
    rasa = str(Path(sys.executable).with_name("rasa"))
    model.parent.mkdir(parents=True, exist_ok=True)
    name = model.name[: -len(".tar.gz")] if model.name.endswith(".tar.gz") else model.stem
    print(f"training {model} ...", file=sys.stderr, flush=True)
    result = subprocess.run(
        [rasa, "train", "--data", "data/nlu", "data/rules", "--config", "config.yml", "--domain", "domain.yml",
         "--out", str(model.parent), "--fixed-model-name", name],
        cwd=PROJECT_ROOT, env=rasa_env(), capture_output=True, text=True,
    )
    if result.returncode != 0 or not model.exists():
        raise SystemExit(f"rasa train failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")


def stale_inputs(model: Path) -> List[str]:
    """Training files changed after `model` was trained."""
    built = model.stat().st_mtime
    changed = []
    for name in TRAINING_INPUTS:
        path = PROJECT_ROOT / name
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        changed += [str(p.relative_to(PROJECT_ROOT)) for p in files if p.stat().st_mtime > built]
    return changed


def observe(
    model: Path, messages: Sequence[LabelledMessage], concurrency: int, logs: Optional[Path] = None,
) -> Tuple[List[Outcome], float]:
    """Starts the product once with `model` and runs every message through it; the outcomes and seconds.
    The services' logs and databases go to `logs` when given (kept), else to a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="bench-self-service-") as scratch:
        work = Path(scratch)
        if logs is not None:
            work = logs
            work.mkdir(parents=True, exist_ok=True)
        with running_stack(model, work, {"SHOP_GATEWAY_RATE_LIMIT_BURST": "50"}, quiet=True) as stack:
            run = SelfServiceRun(stack, product_names(), demo_customers())
            started = time.perf_counter()
            outcomes = asyncio.run(run.run_all(messages, concurrency))
            return outcomes, time.perf_counter() - started


def _share(right: int, total: int) -> str:
    return f"{right}/{total} ({100 * right / total:5.1f}%)" if total else "0/0"


def _brief(values: Dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in values.items()) or "nothing reported"


def report(messages: Sequence[LabelledMessage], outcomes: Sequence[Outcome], seconds: float) -> Dict[str, Any]:
    """Prints the figures and the misses; returns the accuracy by line."""
    right = [not o.error and matches(m.expect, o.got) for m, o in zip(messages, outcomes, strict=True)]
    by_route: Dict[str, List[bool]] = defaultdict(list)
    by_group: Dict[str, List[bool]] = defaultdict(list)
    by_context: Dict[str, List[bool]] = defaultdict(list)
    for message, correct in zip(messages, right, strict=True):
        by_route[message.expect["route"]].append(correct)
        by_group[message.group].append(correct)
        by_context["verified customer" if message.customer else "anonymous visitor"].append(correct)
        by_context["on a product page" if message.page_product else "no product page"].append(correct)
    print(f"== Order self-service and product answers, end to end ({len(messages)} messages, "
          f"evaluation/order_product_set.yml) ==")
    print(f"right action or answer: {_share(sum(right), len(right))}")
    for route in ("order", "product", "faq"):
        if route in by_route:
            print(f"  route {route:<8} {_share(sum(by_route[route]), len(by_route[route]))}")
    order = [g for g in (f"order/{t}" for t in SELF_SERVICE_TASKS) if g in by_group]
    product = [g for g in (f"product/{a}" for a in PRODUCT_ATTRIBUTES) if g in by_group]
    for title, groups in (("order task", order), ("product attribute", product)):
        if groups:
            print(f"by {title}:")
            for group in groups:
                print(f"  {group.split('/', 1)[1]:<16} {_share(sum(by_group[group]), len(by_group[group]))}")
    print("by context: " + "; ".join(f"{k} {_share(sum(v), len(v))}" for k, v in sorted(by_context.items())))
    latencies = [o.first_reply_seconds * 1000 for o in outcomes if o.first_reply_seconds is not None]
    if latencies:
        print(f"first bot reply after sending: median {statistics.median(latencies):.0f} ms, "
              f"p95 {percentile(latencies, 0.95):.0f} ms ({len(latencies)} replies)")
    errors = [o for o in outcomes if o.error]
    reconnects = sum(o.reconnects for o in outcomes)
    print(f"{len(messages)} messages in {seconds:.1f} s; {len(errors)} errors"
          + (f"; the gateway closed {reconnects} sockets (reconnected, as the widget does)" if reconnects else ""))
    on_pages = [o for m, o in zip(messages, outcomes, strict=True) if m.page_product and not o.error]
    unseen = sum(1 for o in on_pages if not o.product_id_seen)
    if unseen:
        print(f"note: on {unseen} of {len(on_pages)} product-page messages Rasa's metadata had no product_id "
              f"(the gateway keeps only bot/gateway/protocol.py's METADATA_KEYS)")
    misses = [(m, o) for m, o, ok in zip(messages, outcomes, right, strict=True) if not ok]
    if misses:
        print(f"misses ({len(misses)}):")
        for message, outcome in misses:
            print(f"  {message.text!r} [{message.context}]")
            print(f"      expected {_brief(message.expect)}")
            if outcome.error:
                print(f"      ERROR {outcome.error}")
            else:
                print(f"      got      {_brief(outcome.got)}; intent {outcome.intent or '-'}; "
                      f"reply {outcome.reply[:40]!r}")
    return {
        "accuracy": sum(right) / len(right) if right else 0.0,
        "by_group": {g: sum(v) / len(v) for g, v in by_group.items()},
        "errors": len(errors),
    }


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=PROJECT_ROOT / "models" / "shop.tar.gz")
    parser.add_argument("--train", action="store_true", help="train a fresh model in a temporary folder")
    parser.add_argument("--limit", type=int, help="only this many messages, taken evenly through the set")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--logs", type=Path, help="keep the services' logs and databases in this (new) folder")
    args = parser.parse_args(argv)
    messages = spread(load_set(), args.limit)
    with tempfile.TemporaryDirectory(prefix="bench-self-service-model-") as scratch:
        model = Path(scratch) / "shop.tar.gz" if args.train else args.model
        if not model.exists():
            train(model)
        else:
            changed = stale_inputs(model)
            if changed:
                print(f"note: {model} is older than {len(changed)} training files (e.g. {changed[0]}); "
                      f"`make train` or --train for a current one", file=sys.stderr)
        outcomes, seconds = observe(model, messages, args.concurrency, args.logs)
    return report(messages, outcomes, seconds)


if __name__ == "__main__":
    main()
