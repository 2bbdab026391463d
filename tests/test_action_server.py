"""The action server's launcher (bot/action_server.py) and Rasa's CORS rule (bot/rasa_speedups.py, item 13): Sanic-CORS
is not set up on an app unless an origin is allowed, and is set up as before when one is."""

from __future__ import annotations

import rasa.server
import rasa_sdk.endpoint
from sanic import Sanic

from bot import rasa_speedups
from bot.action_server import without_cors_unless_asked


def _has_cors(app: Sanic) -> bool:
    # Sanic-CORS keeps its state on the app's context, and installs its middleware from it when the server starts
    return "sanic_cors" in vars(app.ctx)


def test_the_action_server_gets_cors_only_when_an_origin_is_allowed(monkeypatch):
    # rasa-sdk names every app it makes "rasa_sdk"; Sanic refuses a second app of the same name unless told
    monkeypatch.setattr(Sanic, "test_mode", True)
    monkeypatch.setattr(rasa_sdk.endpoint, "configure_cors",
                        without_cors_unless_asked(rasa_sdk.endpoint.configure_cors))
    plain = rasa_sdk.endpoint.create_app("actions", cors_origins=None)
    allowing = rasa_sdk.endpoint.create_app("actions", cors_origins="*")
    assert not _has_cors(plain) and _has_cors(allowing)
    # the actions are served either way
    assert {route.path for route in plain.router.routes} >= {"webhook", "health", "actions"}


def test_rasa_s_server_gets_cors_only_when_an_origin_is_allowed(monkeypatch):
    monkeypatch.setattr(rasa.server, "configure_cors", rasa.server.configure_cors)
    unchanged = Sanic("shop-rasa-unchanged")
    rasa.server.configure_cors(unchanged, None)
    assert _has_cors(unchanged), "Rasa's own rule sets Sanic-CORS up without origins too"
    rasa_speedups.install_cors_rule()
    plain = Sanic("shop-rasa-no-cors")
    rasa.server.configure_cors(plain, None)
    allowing = Sanic("shop-rasa-cors")
    rasa.server.configure_cors(allowing, "*")
    assert not _has_cors(plain) and _has_cors(allowing)
