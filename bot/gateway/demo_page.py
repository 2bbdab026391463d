"""The demo shop page at /: a product page with the widget, signed in as one of the demo customers.

It plays the shop's server: it signs the chosen demo customer (data/demo/customers.yml) the way a shop signs
its logged-in customer (docs/verified-customers.md), so the widget carries a verified id and tier.
`/?customer=<id>` switches customer, `/?customer=` is an anonymous visitor. Off (`identity.demo_sign_in:
false`), the page shows an anonymous visitor only.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import List, Optional

import yaml
from aiohttp import web

from bot.gateway.keys import CONFIG, IDENTITIES
from core.customer_identity import signed_claim
from core.settings import project_path

PAGE = Path(__file__).resolve().parent / "static" / "demo.html"
CUSTOMERS_FILE = "data/demo/customers.yml"


@dataclass(frozen=True)
class DemoCustomer:
    """A demo shop customer: id, tier and how the page greets them."""

    id: str
    name: str
    tier: str
    tier_name: str


@lru_cache(maxsize=1)
def demo_customers() -> List[DemoCustomer]:
    """The demo customers, the first being who the page signs in by default."""
    path = project_path(CUSTOMERS_FILE)
    entries = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("customers") or []
    try:
        return [DemoCustomer(str(e["id"]), str(e["name"]), str(e.get("tier") or ""), str(e.get("tier_name") or ""))
                for e in entries]
    except (KeyError, TypeError) as error:
        raise ValueError(f"{path}: every customer needs an id and a name ({error})") from None


@lru_cache(maxsize=1)
def _template() -> str:
    return PAGE.read_text(encoding="utf-8")


def _chosen(request: web.Request, signing: bool) -> Optional[DemoCustomer]:
    customers = demo_customers()
    if not signing or not customers:
        return None
    wanted = request.query.get("customer")
    if wanted is None:
        return customers[0]
    return next((c for c in customers if c.id == wanted), None)


def render(customer: Optional[DemoCustomer], secret: str, signing: bool) -> str:
    """The page's HTML for this customer (None: an anonymous visitor)."""
    if customer:
        claim = signed_claim(secret, customer.id, customer.tier)
        identity = " ".join(f'data-{name}="{html.escape(str(claim[key]))}"' for name, key in (
            ("customer-id", "customer_id"), ("tier", "tier"), ("expires-at", "expires_at"),
            ("signature", "signature")))
        identity += f' data-name="{html.escape(customer.name)}"'
        tier = f' <span class="vip">{html.escape(customer.tier_name)}</span>' if customer.tier_name else ""
        greeting = f"您好，<strong>{html.escape(customer.name)}</strong>{tier} · 欢迎回到云朵优品"
    else:
        identity, greeting = "", "您好，欢迎来到云朵优品 · 登录后可查看订单"
    links = []
    if signing:
        for other in demo_customers():
            current = ' aria-current="true"' if customer and other.id == customer.id else ""
            links.append(f'<a href="/?customer={html.escape(other.id)}"{current}>{html.escape(other.name)}</a>')
        current = "" if customer else ' aria-current="true"'
        links.append(f'<a href="/?customer="{current}>退出登录</a>')
    accounts = ("演示账号：" + "".join(links)) if links else ""
    return (_template().replace("{{greeting}}", greeting).replace("{{accounts}}", accounts)
            .replace("{{identity}}", identity))


async def demo_page(request: web.Request) -> web.Response:
    """GET /: the demo shop page, signed in as the chosen demo customer."""
    signing = bool(request.config_dict[CONFIG].identity.get("demo_sign_in", True))
    customer = _chosen(request, signing)
    page = render(customer, request.config_dict[IDENTITIES].secret, signing)
    return web.Response(text=page, content_type="text/html", headers={"Cache-Control": "no-store"})
