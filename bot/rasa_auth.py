"""The token Rasa's HTTP API takes (`rasa run --auth-token`): settings.yml's `rasa.auth_token`
(SHOP_RASA_AUTH_TOKEN) or, when that is empty, a random one made on first start and kept in
`rasa.auth_token_file` (mode 0600), so every process of this machine (`make run`, `make chat`, the
benchmarks) finds the same one.

Rasa checks it on its own API only (`/status`, `/conversations/...`, `/model/...`, `/domain`), passed as
`?token=`; its channels' webhooks (`/webhooks/gateway/webhook`, `/webhooks/rest/webhook`) and `/` take
anyone, which is why Rasa listens on loopback (`rasa.host`).
"""

from __future__ import annotations

from typing import Any, Mapping
from urllib.parse import urlencode

from core.customer_identity import load_or_create_secret
from core.settings import project_path

DEFAULT_TOKEN_FILE = "var/rasa-auth-token"


def rasa_auth_token(rasa: Mapping[str, Any]) -> str:
    """The token from settings.yml's `rasa` section (made and kept in its file when empty)."""
    token_file = project_path(str(rasa.get("auth_token_file") or DEFAULT_TOKEN_FILE))
    return load_or_create_secret(str(rasa.get("auth_token") or ""), token_file)


def with_token(url: str, token: str) -> str:
    """`url` with `token=` added to its query, as Rasa's API wants it."""
    return f"{url}{'&' if '?' in url else '?'}{urlencode({'token': token})}"
