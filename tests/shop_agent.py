"""The shop's Rasa agent in the test process: the trained model, the action server's actions run in this process,
the demo order system and the product's tracker store, each on new SQLite files."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
from rasa.core.agent import Agent
from rasa.utils.endpoints import EndpointConfig

from bot.rasa_endpoints import endpoints
from bot.rasa_tracker_store import CachedSQLTrackerStore

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "shop.tar.gz"


class ActionsInProcess(EndpointConfig):
    """The action server's actions, run in this process by rasa_sdk's executor instead of over HTTP."""

    def __init__(self) -> None:
        # configured as bot/rasa_endpoints.py configures the action server's endpoint
        action_endpoint = endpoints("http://actions.in.process/webhook", {})["action_endpoint"]
        super().__init__(action_endpoint.pop("url"), **action_endpoint)
        from rasa_sdk.executor import ActionExecutor

        self.executor = ActionExecutor()
        self.executor.register_package("actions")
        # the action calls, as Rasa sent them
        self.calls: List[Dict[str, Any]] = []

    async def request(self, method: str = "post", subpath: Any = None, content_type: Any = "application/json",
                      compress: bool = False, **kwargs: Any) -> Any:
        self.calls.append(kwargs["json"])
        return await self.executor.run(kwargs["json"])


@contextmanager
def shop_agent(request: pytest.FixtureRequest, work: Path) -> Iterator[Agent]:
    """The shop's model (models/shop.tar.gz read-only, else the one the test run trains) loaded as an Agent, with
    the demo order system and the product's tracker store in `work`."""
    from actions import order_access, order_form, order_questions, order_self_service
    from core.db import create_database_engine, upgrade_schema
    from orders.demo_system import DemoOrderSystem

    model = MODEL if MODEL.exists() else request.getfixturevalue("full_model")
    engine = create_database_engine(f"sqlite:///{work / 'shop.db'}")
    upgrade_schema(engine)
    system = DemoOrderSystem(engine)
    with pytest.MonkeyPatch.context() as patch:
        for module in (order_access, order_form, order_questions, order_self_service):
            patch.setattr(module, "order_system", lambda: system)
        store = CachedSQLTrackerStore(None, dialect="sqlite", db=str(work / "trackers.db"))
        yield Agent.load(str(model), action_endpoint=ActionsInProcess(), tracker_store=store)
    engine.dispose()
