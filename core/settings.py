"""The product's settings: `settings.yml` at the project root, overridden by environment variables.

An environment variable `SHOP_<SECTION>_<KEY>` overrides `section.key`, e.g.
`SHOP_RASA_PORT=5006`. `SHOP_SETTINGS` points at another YAML file.
`DATABASE_URL` sets `database.url` unless `SHOP_DATABASE_URL` is set.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_PREFIX = "SHOP_"


class SettingsError(ValueError):
    """A setting is missing or has the wrong type."""


def _coerce(value: str, like: Any, name: str) -> Any:
    try:
        if isinstance(like, bool):
            if value.lower() in {"1", "true", "yes", "on"}:
                return True
            if value.lower() in {"0", "false", "no", "off"}:
                return False
            raise ValueError(value)
        if isinstance(like, int):
            return int(value)
        if isinstance(like, float):
            return float(value)
    except ValueError:
        raise SettingsError(
            f"Environment variable {name}={value!r} is not a valid "
            f"{type(like).__name__}"
        ) from None
    return value


def load_settings(
    path: Optional[Path] = None, environ: Optional[Mapping[str, str]] = None
) -> Dict[str, Dict[str, Any]]:
    """Reads the YAML file and applies `SHOP_<SECTION>_<KEY>` overrides."""
    environ = os.environ if environ is None else environ
    path = Path(path or environ.get("SHOP_SETTINGS") or PROJECT_ROOT / "settings.yml")
    try:
        settings = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise SettingsError(f"Settings file {path} does not exist (set SHOP_SETTINGS)") from None
    except yaml.YAMLError as error:
        raise SettingsError(f"Settings file {path} is not valid YAML: {error}") from None
    for section, values in settings.items():
        if not isinstance(values, dict):
            raise SettingsError(f"{path}: section '{section}' must be a mapping")
        for key, default in values.items():
            name = f"{ENV_PREFIX}{section}_{key}".upper()
            if name in environ:
                values[key] = _coerce(environ[name], default, name)
    # the conventional DATABASE_URL works too; SHOP_DATABASE_URL, being specific, wins
    if environ.get("DATABASE_URL") and "SHOP_DATABASE_URL" not in environ:
        settings.setdefault("database", {})["url"] = environ["DATABASE_URL"]
    return settings


@lru_cache(maxsize=1)
def settings() -> Dict[str, Dict[str, Any]]:
    """The process-wide settings, read once."""
    return load_settings()


def project_path(value: str) -> Path:
    """A path from the settings, relative to the project root unless absolute."""
    path = Path(value)
    return path if path.is_absolute() else PROJECT_ROOT / path
