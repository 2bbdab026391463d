"""Rasa's endpoints file, written from the product's settings: the action server, where Rasa keeps
conversations (its tracker store) and how several Rasa processes take turns on one conversation (its lock
store).

`rasa.tracker_store_url` is a SQLAlchemy URL (SQLite embedded, PostgreSQL scaled) for
bot/rasa_tracker_store.py; `rasa.lock_store_url` is empty for Rasa's in-memory lock (one Rasa process) or
`redis://host:port/db` for Rasa's Redis lock store, which every Rasa process of a scaled setup shares.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Mapping, Optional

import yaml
from sqlalchemy.engine import make_url

from core.db import absolute_sqlite_url
from core.settings import SettingsError

TRACKER_STORE_CLASS = "bot.rasa_tracker_store.CachedSQLTrackerStore"


def tracker_store_endpoint(url: str) -> Dict[str, Any]:
    """The tracker store entry for a SQLAlchemy URL, in the keyword arguments Rasa's SQLTrackerStore takes."""
    try:
        parsed = make_url(absolute_sqlite_url(url))
    except Exception as error:  # noqa: BLE001 - SQLAlchemy raises several kinds for a bad URL
        raise SettingsError(
            f"rasa.tracker_store_url {url!r} is not a database URL (e.g. sqlite:///var/rasa-trackers.db or "
            f"postgresql://postgres@127.0.0.1:5432/test): {error}"
        ) from None
    entry: Dict[str, Any] = {"type": TRACKER_STORE_CLASS, "dialect": parsed.drivername, "db": parsed.database}
    if parsed.drivername.startswith("sqlite"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        return entry
    for key, value in (("url", parsed.host), ("port", parsed.port), ("username", parsed.username),
                       ("password", parsed.password)):
        if value is not None:
            entry[key] = value
    if parsed.query:
        entry["query"] = dict(parsed.query)
    return entry


def lock_store_endpoint(url: str) -> Optional[Dict[str, Any]]:
    """Rasa's Redis lock store for `redis://host:port/db`; None (Rasa's in-memory lock) for an empty URL."""
    if not url:
        return None
    parsed = make_url(url) if "://" in url else None
    if parsed is None or parsed.drivername not in ("redis", "rediss"):
        raise SettingsError(f"rasa.lock_store_url {url!r} must be empty or redis://host:port/db")
    # Rasa's RedisLockStore, with each change of a lock atomic (bot/rasa_lock_store.py says why)
    entry: Dict[str, Any] = {"type": "bot.rasa_lock_store.AtomicRedisLockStore",
                             "url": parsed.host or "127.0.0.1", "port": parsed.port or 6379,
                             "db": int(parsed.database or 0), "key_prefix": "shop"}
    if parsed.password:
        entry["password"] = parsed.password
    if parsed.drivername == "rediss":
        entry["use_ssl"] = True
    return entry


def endpoints(actions_url: str, rasa: Mapping[str, Any]) -> Dict[str, Any]:
    """The endpoints file's content for one Rasa process."""
    tracker_store = tracker_store_endpoint(str(rasa.get("tracker_store_url") or "sqlite:///var/rasa-trackers.db"))
    # how many conversations' trackers a Rasa process keeps in memory, and for how long after their last use
    tracker_store["cache_size"] = int(rasa.get("tracker_cache_size", 5000))
    tracker_store["cache_idle_seconds"] = 60 * float(rasa.get("tracker_cache_idle_minutes", 30))
    content: Dict[str, Any] = {
        # no custom action reads the domain (none is marked `send_domain` in domain.yml), so Rasa does not send
        # it with every call to the action server
        "action_endpoint": {"url": actions_url, "enable_selective_domain": True},
        "tracker_store": tracker_store,
    }
    lock = lock_store_endpoint(str(rasa.get("lock_store_url") or ""))
    if lock:
        content["lock_store"] = lock
    return content


def write_endpoints(actions_url: str, rasa: Mapping[str, Any], directory: Path) -> Path:
    """Writes the endpoints file for one Rasa process into `directory`; returns its path."""
    path = directory / "endpoints.yml"
    path.write_text(yaml.safe_dump(endpoints(actions_url, rasa), allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
    return path
