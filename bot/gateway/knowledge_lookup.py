"""The knowledge base and its search index for the agent console's quick answers, built on first use."""

from __future__ import annotations

import asyncio
from typing import Any, Optional


class LazyKnowledge:
    """Built in a thread on first use (about a second), then shared by every console request."""

    def __init__(self) -> None:
        self._task: Optional[asyncio.Future] = None

    async def get(self) -> Any:
        """The KnowledgeAccess (knowledge base and search index)."""
        if self._task is None:
            from actions.knowledge_access import build_knowledge_access

            self._task = asyncio.get_running_loop().run_in_executor(None, build_knowledge_access)
        return await self._task
