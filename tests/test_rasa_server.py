"""The Rasa launcher's schema check: Rasa's own action-response validation goes through it, each schema
is checked once, and responses are accepted or refused exactly as jsonschema itself does."""

from __future__ import annotations

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction

from bot import rasa_server

VALID = {"events": [{"event": "slot", "name": "failure_count", "value": 1}], "responses": [{"text": "好的"}]}
INVALID = {"events": [{"event": "slot"}], "responses": [{"text": "好的"}]}


@pytest.fixture
def launcher(monkeypatch):
    """The launcher's validator installed as in `python -m bot.rasa_server`, undone afterwards."""
    monkeypatch.setattr(jsonschema, "validate", jsonschema.validate)
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
