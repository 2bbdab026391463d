"""The Rasa launcher's speed-ups. The schema check: Rasa's own action-response validation goes through it,
each schema is checked once, and responses are accepted or refused exactly as jsonschema itself does.
The kept session: calls to an endpoint share one session and its connections."""

from __future__ import annotations

import jsonschema
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

from bot import rasa_server

VALID = {"events": [{"event": "slot", "name": "failure_count", "value": 1}], "responses": [{"text": "好的"}]}
INVALID = {"events": [{"event": "slot"}], "responses": [{"text": "好的"}]}


@pytest.fixture
def launcher(monkeypatch):
    """The launcher's validator installed as in `python -m bot.rasa_server`, undone afterwards."""
    monkeypatch.setattr(jsonschema, "validate", jsonschema.validate)
    monkeypatch.setattr(EndpointConfig, "session", EndpointConfig.session)
    monkeypatch.setattr(rasa_server, "_validators", {})
    rasa_server.install()
    checks = []
    original = jsonschema.Draft7Validator.check_schema
    monkeypatch.setattr(jsonschema.Draft7Validator, "check_schema",
                        classmethod(lambda cls, schema: (checks.append(schema), original(schema))[1]))
    return checks


def test_rasa_checks_action_responses_through_the_cached_validator_and_the_schema_once(launcher):
    action = RemoteAction("action_answer_faq", None)
    for _ in range(5):
        assert action._validate_action_result(VALID) is True
    assert len(rasa_server._validators) == 1, "Rasa did not call the launcher's jsonschema.validate"
    assert len(launcher) == 1, "the schema should be checked once, not on every response"


def test_a_bad_response_is_refused_with_the_same_error_as_jsonschema_gives(launcher):
    schema = RemoteAction.action_response_format_spec()
    with pytest.raises(jsonschema.ValidationError) as ours:
        rasa_server.validate_with_cached_validator(INVALID, schema)
    with pytest.raises(jsonschema.ValidationError) as theirs:
        rasa_server._original_validate(INVALID, schema)
    assert ours.value.message == theirs.value.message and list(ours.value.path) == list(theirs.value.path)
    rasa_server.validate_with_cached_validator(VALID, schema)  # no error


async def test_calls_to_an_endpoint_share_one_session_and_its_connection(launcher):
    peers = []

    async def webhook(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername"))
        return web.json_response({"events": [], "responses": []})

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    server = TestServer(app)
    await server.start_server()
    try:
        endpoint = EndpointConfig(f"http://127.0.0.1:{server.port}/webhook", headers={"X-Shop": "1"})
        answers = [await endpoint.request(json={"next_action": "action_answer_faq"}) for _ in range(3)]
        assert answers == [{"events": [], "responses": []}] * 3
        # one kept-alive connection: the same client port every time
        assert len(peers) == 3 and len(set(peers)) == 1
        assert not endpoint._kept_session.closed and endpoint._kept_session.headers["X-Shop"] == "1"
    finally:
        await endpoint._kept_session.close()
        await server.close()
