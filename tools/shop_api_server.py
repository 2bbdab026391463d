"""A shop order API that follows docs/shop-order-api.md, serving the embedded demo orders over HTTP.

The order client's tests run against it (a real HTTP server on loopback), and a shop can point the bot at it
to try the HTTP backend (`orders.backend: http`) before its own API is ready:

    .venv/bin/python -m tools.shop_api_server --port 8090 --token demo-token
    SHOP_ORDERS_BACKEND=http SHOP_ORDERS_API_URL=http://127.0.0.1:8090 SHOP_ORDERS_API_TOKEN=demo-token make run

`delay_seconds` and `fail_status` make it slow or failing, for the tests of a shop API in trouble.
"""

from __future__ import annotations

import argparse
import asyncio
import threading
from contextlib import contextmanager
from typing import Any, Awaitable, Callable, Dict, Iterator, Optional

from aiohttp import web

from core.db import create_database_engine, upgrade_schema
from core.settings import settings
from orders.demo_system import DemoOrderSystem
from orders.errors import ActionRefused, OrderNotFound
from orders.model import Receiver

SYSTEM = web.AppKey("system", DemoOrderSystem)
FAULTS = web.AppKey("faults", dict)


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message}, status=status)


@web.middleware
async def contract(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
    """Token check, the injected faults, and the contract's error bodies."""
    faults = request.app[FAULTS]
    token = faults.get("token")
    if token and request.headers.get("Authorization") != f"Bearer {token}":
        return _error(401, "unauthorized", "missing or wrong bearer token")
    if faults.get("delay_seconds"):
        await asyncio.sleep(faults["delay_seconds"])
    if faults.get("fail_status"):
        return _error(int(faults["fail_status"]), "failure", "injected failure")
    try:
        return await handler(request)
    except OrderNotFound as error:
        return _error(404, error.code, error.text)
    except ActionRefused as error:
        return _error(409, error.code, error.text)
    except (KeyError, TypeError, ValueError):
        return _error(400, "bad_request", "the body does not follow the contract")


async def _body(request: web.Request) -> Dict[str, Any]:
    body = await request.json()
    if not isinstance(body, dict):
        raise ValueError("body must be an object")
    return body


async def customer_orders(request: web.Request) -> web.Response:
    limit = min(int(request.query.get("limit", "10")), 50)
    orders = await request.app[SYSTEM].orders_of(request.match_info["customer_id"], limit)
    return web.json_response({"orders": [o.to_json() for o in orders]})


async def one_order(request: web.Request) -> web.Response:
    found = await request.app[SYSTEM].order(request.match_info["number"])
    if found is None:
        raise OrderNotFound("没有找到这个订单号，请核对后再发一次。")
    return web.json_response(found.to_json())


async def phone_check(request: web.Request) -> web.Response:
    system, number = request.app[SYSTEM], request.match_info["number"]
    if await system.order(number) is None:
        raise OrderNotFound("没有找到这个订单号，请核对后再发一次。")
    return web.json_response({"match": await system.phone_matches(number, str((await _body(request))["last4"]))})


async def change(request: web.Request) -> web.Response:
    system, number, action = request.app[SYSTEM], request.match_info["number"], request.match_info["action"]
    body = await _body(request)
    request_id = str(body["request_id"])
    if action == "urge":
        return web.json_response((await system.urge_shipment(number, request_id)).to_json())
    if action == "receiver":
        receiver = Receiver(**{key: str(body["receiver"][key]) for key in ("name", "phone", "address")})
        return web.json_response((await system.change_receiver(number, receiver, request_id)).to_json())
    if action == "cancel":
        return web.json_response((await system.cancel(number, str(body.get("reason", "")), request_id)).to_json())
    if action == "after-sales":
        opened = await system.start_after_sale(number, str(body["kind"]), str(body.get("reason", "")), request_id)
        return web.json_response(opened.to_json())
    if action == "invoice":
        invoice = await system.request_invoice(number, str(body["title"]), str(body.get("email", "")),
                                               str(body.get("tax_id", "")), request_id)
        return web.json_response(invoice.to_json())
    return _error(404, "not_found", f"no action {action}")


def create_app(system: DemoOrderSystem, token: str = "", faults: Optional[Dict[str, Any]] = None) -> web.Application:
    """The API over `system`; `faults` (delay_seconds, fail_status) may be changed while it runs."""
    app = web.Application(middlewares=[contract])
    app[SYSTEM] = system
    app[FAULTS] = {**(faults or {}), "token": token}
    app.router.add_get("/customers/{customer_id}/orders", customer_orders)
    app.router.add_get("/orders/{number}", one_order)
    app.router.add_post("/orders/{number}/phone-check", phone_check)
    app.router.add_post("/orders/{number}/{action}", change)
    return app


@contextmanager
def serving_in_thread(database_url: str, token: str, port: int) -> Iterator[Dict[str, Any]]:
    """The API over the demo orders in `database_url` on a loopback port, in a thread of its own (beside a test
    or a benchmark that runs the product in other processes); yields its `url` and its `faults` to change."""
    engine = create_database_engine(database_url)
    upgrade_schema(engine)
    app = create_app(DemoOrderSystem(engine), token)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield {"url": f"http://127.0.0.1:{port}", "faults": app[FAULTS]}
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--token", default="")
    parser.add_argument("--database", default="", help="SQLAlchemy URL (default: the product's database)")
    args = parser.parse_args()
    engine = create_database_engine(args.database or settings()["database"]["url"])
    upgrade_schema(engine)
    web.run_app(create_app(DemoOrderSystem(engine), args.token), host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
