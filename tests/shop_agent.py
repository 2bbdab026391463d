"""The shop's Rasa agent in the test process: the trained model, the action server's actions run in this process,
the demo order system and the product's tracker store, each on new SQLite files; and the conversations the tests
take it through."""

from __future__ import annotations

import asyncio
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List

import numpy
import pytest
import yaml
from rasa.core.agent import Agent
from rasa.shared.core.trackers import DialogueStateTracker
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


def knowledge_base_questions(count: int) -> List[str]:
    """Customers' questions from the NLU data, a few of each knowledge-base entry."""
    questions = []
    for path in sorted((ROOT / "data" / "nlu").glob("faq_*.yml")):
        for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            lines = [line[2:].strip() for line in block.get("examples", "").splitlines() if line.startswith("- ")]
            questions += [line for line in lines if "[" not in line][:2]
    return questions[:: max(1, len(questions) // count)][:count]


# the paths that break a simple replay: a form's loop and leaving it, fallbacks, restarts, rewinds
CONVERSATIONS: Dict[str, List[str]] = {
    "greeting-question-thanks": ["你好", "帮我查下订单2024061812345678到哪了", "谢谢", "拜拜",
                                 '/faq{"faq_key": "shop_hours"}', "你是机器人吗"],
    "order-form": ["我的订单有问题", "2026120112345678", "1234", "谢谢", "/order_problem", "退款多久到账啊",
                   "/order_problem", "算了", "/order_problem", "你好", "拜拜"],
    "fallbacks": ["asdfgh", "都不是", "咋整", "好的", "我想问一下", "明天北京天气怎么样", "转人工",
                  "你们这什么破服务，我要投诉！！！"],
    "restart-session-back": ["你好", "退款一般几天能到账啊", "/restart", "你好", "/session_start",
                             "退款一般几天能到账啊", "/back", "谢谢", "/back", "/back", "拜拜"],
}
# what differs between two runs of the same conversation whatever the code
VOLATILE_FIELDS = {"timestamp", "message_id", "model_id"}


async def talk(agent: Agent, sender: str, texts: List[str]) -> DialogueStateTracker:
    """`texts` sent one after another as `sender`; the conversation's tracker afterwards."""
    for text in texts:
        await agent.handle_text(text, sender_id=sender)
    return await agent.tracker_store.retrieve(sender)


def _comparable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _comparable(item) for key, item in value.items() if key not in VOLATILE_FIELDS}
    if isinstance(value, list):
        return [_comparable(item) for item in value]
    return value


def ended_conversations(agent: Agent, prefix: str) -> Dict[str, List[Dict[str, Any]]]:
    """CONVERSATIONS and ten knowledge-base questions, each as a sender of its own named after `prefix`: every
    conversation's events at its end, without what differs between runs, to compare two runs."""
    numpy.random.seed(7)  # a response with several variants is picked by numpy: the same picks in every run
    texts_by_sender = {**CONVERSATIONS, "ten-questions": knowledge_base_questions(10)}
    ended = {name: asyncio.run(talk(agent, f"{prefix}-{name}", texts)) for name, texts in texts_by_sender.items()}
    return {name: [_comparable(event.as_dict()) for event in tracker.events] for name, tracker in ended.items()}
