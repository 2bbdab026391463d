"""Reading a data file a person edits (the knowledge base, the catalog), for loaders that list every problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Tuple

import yaml


def read_yaml(path: Path) -> Tuple[Any, Optional[str]]:
    """The file's YAML content and None, or None and why it cannot be read (not YAML, not UTF-8 text)."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")), None
    except yaml.YAMLError as error:
        return None, f"is not valid YAML: {error}"
    except UnicodeDecodeError:
        return None, "is not UTF-8 text"
