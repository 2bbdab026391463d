"""The garbage collector settled once a server is up (core/collector.py), through each launcher's hook."""

from __future__ import annotations

import asyncio
import gc
import weakref

from bot.action_server import settled_once_started
from bot.rasa_server import settled_after_loading
from core.collector import settle_after_start


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_settling_collects_start_ups_garbage_and_freezes_what_is_left():
    gc.unfreeze()
    try:
        kept = [{"model": number} for number in range(1000)]
        garbage = weakref.ref(_Cycle())  # only a collection frees it: frozen, it would live on
        settle_after_start()
        assert gc.get_freeze_count() >= len(kept)
        assert garbage() is None, "start-up's garbage is collected before the rest is frozen"
        assert gc.get_count()[0] < 100, "the young generation starts empty"
    finally:
        gc.unfreeze()


def test_rasa_settles_once_its_model_is_loaded_and_the_action_server_once_it_serves():
    gc.unfreeze()
    try:
        frozen = []

        async def load_agent_on_start(*args):
            frozen.append(gc.get_freeze_count())
            return "agent"

        assert asyncio.run(settled_after_loading(load_agent_on_start)("model", "endpoints")) == "agent"
        assert frozen == [0] and gc.get_freeze_count() > 0
        gc.unfreeze()

        listeners = []

        class App:
            def register_listener(self, listener, event):
                listeners.append((listener, event))

        app = settled_once_started(lambda *args, **kwargs: App())("actions")
        assert isinstance(app, App) and [event for _, event in listeners] == ["after_server_start"]
        assert gc.get_freeze_count() == 0
        asyncio.run(listeners[0][0](app, None))
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


async def test_the_gateway_settles_once_its_warm_up_is_done():
    from bot.gateway.__main__ import settle_once_warm

    gc.unfreeze()
    try:
        warm_up = asyncio.get_running_loop().create_future()
        await settle_once_warm({"warm_up": warm_up})
        await asyncio.sleep(0)
        assert gc.get_freeze_count() == 0, "not before the warm-up is done"
        warm_up.set_result(None)
        await asyncio.sleep(0)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
