"""The gateway's settings, read from settings.yml (`gateway`, `rasa`, `database`) and SHOP_* variables."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Dict, Mapping, Optional, Tuple

from core.db import absolute_sqlite_url
from core.settings import SettingsError, settings


@dataclass(frozen=True)
class GatewayConfig:
    """Everything the gateway needs to run; defaults work on a fresh machine."""

    host: str = "127.0.0.1"
    port: int = 8000
    # one Rasa base URL, or several separated by commas (each conversation keeps to one of them)
    rasa_url: str = "http://127.0.0.1:5005"
    database_url: str = "sqlite:///var/shop.db"
    allowed_origins: Tuple[str, ...] = ()
    max_message_length: int = 10000
    rate_limit_burst: int = 5
    rate_limit_per_minute: float = 20
    # abuse limits per client address (address_limits.py), each a burst then so many a minute; the address
    # is the forwarded one when the peer is one of these proxies (comma-separated addresses or networks)
    trusted_proxies: str = "127.0.0.1,::1"
    address_conversations_burst: int = 30
    address_conversations_per_minute: float = 60
    address_messages_burst: int = 300
    address_messages_per_minute: float = 1200
    address_leave_messages_burst: int = 5
    address_leave_messages_per_minute: float = 2
    address_logins_burst: int = 20
    address_logins_per_minute: float = 10
    bot_typing_after_seconds: float = 0.3
    bot_notice_after_seconds: float = 4.0
    bot_timeout_seconds: float = 20.0
    rasa_connections: int = 32
    # stored means handled (pending.py): a pending message's lease, how soon the bot is asked again after it
    # could not answer, and after how long without the bot a person takes the message
    pending_lease_seconds: float = 6.0
    pending_sweep_seconds: float = 1.0
    bot_retry_seconds: float = 5.0
    bot_give_up_seconds: float = 90.0
    history_limit: int = 500
    # empty: one gateway, its live state in memory; redis://host:port/db: replicas share fan-out, live
    # state and rate limits through this Redis
    redis_url: str = ""
    replica: str = "gateway"
    unavailable_text: str = "抱歉，智能客服暂时无法回复，您的消息已保存，请稍后再试。"
    slow_text: str = "小云正在查询，请稍候……"
    # settings.yml sections `escalation`, `handoff`, `analytics`, `identity`, `orders` and `console`, as read
    escalation: Dict[str, Any] = field(default_factory=dict)
    identity: Dict[str, Any] = field(default_factory=dict)
    orders: Dict[str, Any] = field(default_factory=dict)
    handoff: Dict[str, Any] = field(default_factory=dict)
    analytics: Dict[str, Any] = field(default_factory=dict)
    console: Dict[str, Any] = field(default_factory=dict)
    # settings.yml section `privacy` (retention windows, the notice's link: retention.py, privacy_api.py), and
    # where Rasa keeps its conversations (`rasa.tracker_store_url`), which erasure and retention reach too
    privacy: Dict[str, Any] = field(default_factory=dict)
    rasa_tracker_store_url: str = "sqlite:///var/rasa-trackers.db"

    @classmethod
    def from_settings(cls, values: Optional[Mapping[str, Dict[str, Any]]] = None) -> GatewayConfig:
        """Reads the `gateway`, `rasa` and `database` sections, and keeps `escalation`, `handoff`, `analytics`,
        `identity` and `orders` for the services that read them."""
        values = values or settings()
        gateway = dict(values.get("gateway") or {})
        rasa = values.get("rasa") or {}
        database_url = absolute_sqlite_url(str((values.get("database") or {}).get("url") or cls.database_url))
        rasa_urls = str(gateway.pop("rasa_urls", "") or "")
        origins = gateway.pop("allowed_origins", "") or ""
        if isinstance(origins, str):
            origins = [item.strip() for item in origins.split(",")]
        sections = {"escalation", "handoff", "analytics", "identity", "orders", "console", "privacy"}
        known = {name for name in cls.__dataclass_fields__} - sections
        unknown = set(gateway) - known
        if unknown:
            raise SettingsError(f"settings.yml: unknown setting(s) in section 'gateway': {', '.join(sorted(unknown))}")
        config = cls(
            escalation=dict(values.get("escalation") or {}),
            handoff=dict(values.get("handoff") or {}),
            analytics=dict(values.get("analytics") or {}),
            identity=dict(values.get("identity") or {}),
            orders=dict(values.get("orders") or {}),
            console=dict(values.get("console") or {}),
            privacy=dict(values.get("privacy") or {}),
            rasa_tracker_store_url=str(rasa.get("tracker_store_url") or cls.rasa_tracker_store_url),
            rasa_url=rasa_urls or f"http://{rasa.get('host', '127.0.0.1')}:{rasa.get('port', 5005)}",
            database_url=database_url,
            allowed_origins=tuple(o.rstrip("/") for o in origins if o),
        )
        return replace(config, **gateway)

    @property
    def public_url(self) -> str:
        """The URL to open in a browser."""
        return f"http://{self.host}:{self.port}/"
