"""The action server's knowledge base and search index, built on first use, not at import."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Optional

from core.settings import project_path, settings
from knowledge import KnowledgeBase, load_knowledge_base
from knowledge.search import KnowledgeSearch


@dataclass(frozen=True)
class KnowledgeAccess:
    """What actions need from the knowledge base."""

    kb: KnowledgeBase
    search: KnowledgeSearch
    contact_key: str

    def contact_text(self) -> Optional[str]:
        """The shop's human contact channels, as the knowledge base states them."""
        entry = self.kb.get(self.contact_key)
        return entry.answer if entry else None


_lock = threading.Lock()
_instance: Optional[KnowledgeAccess] = None


def build_knowledge_access() -> KnowledgeAccess:
    """Loads and indexes the knowledge base named in the settings."""
    config = settings()["knowledge_base"]
    dictionary_dir = project_path(config["dictionary_dir"])
    kb = load_knowledge_base(project_path(config["path"]))
    if config["contact_entry"] not in kb:
        raise ValueError(
            f"settings.yml knowledge_base.contact_entry is '{config['contact_entry']}', "
            f"but no knowledge-base entry has that key"
        )
    return KnowledgeAccess(kb, KnowledgeSearch(kb, dictionary_dir), config["contact_entry"])


def knowledge_access() -> KnowledgeAccess:
    """The process-wide instance, built once."""
    global _instance
    with _lock:
        if _instance is None:
            _instance = build_knowledge_access()
        return _instance
