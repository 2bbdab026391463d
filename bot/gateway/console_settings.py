"""The `console` section of settings.yml, read and checked: login throttling, the password threads and the
origins allowed to change state through the console and dashboard APIs."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Mapping, Tuple

from core.settings import SettingsError


def _items(value: Any) -> Tuple[str, ...]:
    if isinstance(value, str):
        value = value.split(",")
    return tuple(str(item).strip().rstrip("/") for item in value or () if str(item).strip())


@dataclass(frozen=True)
class ConsoleSettings:
    """Defaults as in settings.yml (where each is explained)."""

    max_failures_per_username: int = 5
    max_failures_per_address: int = 20
    failure_window_minutes: float = 15
    lockout_minutes: float = 15
    hash_threads: int = 2
    hash_queue_limit: int = 32
    allowed_origins: Tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, section: Mapping[str, Any]) -> ConsoleSettings:
        """Reads settings.yml's `console` section; refuses unknown keys and impossible values."""
        known = {f.name for f in fields(cls)}
        unknown = set(section) - known
        if unknown:
            raise SettingsError(f"settings.yml: unknown setting(s) in section 'console': {', '.join(sorted(unknown))}")
        values = dict(section)
        if "allowed_origins" in values:
            values["allowed_origins"] = _items(values["allowed_origins"])
        made = cls(**values)
        for name in ("max_failures_per_username", "max_failures_per_address", "hash_threads", "hash_queue_limit"):
            if int(getattr(made, name)) < 1:
                raise SettingsError(f"settings.yml: console.{name} must be at least 1")
        if made.failure_window_minutes <= 0 or made.lockout_minutes <= 0:
            raise SettingsError("settings.yml: console.failure_window_minutes and lockout_minutes must be above 0")
        return made
