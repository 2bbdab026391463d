"""The Rasa process's speed-ups (bot/rasa_speedups.py). The schema check: Rasa's own action-response
validation goes through it, each schema is checked once, and responses are accepted or refused exactly as
jsonschema itself does. The action calls: JSON POSTs to an endpoint share one kept-alive connection
(bot/json_http.py) and give Rasa's answers and errors; other requests share one kept session.
Event classes, the graph's minimal schemas and the debug-log arguments: the same results as Rasa's own,
without the repeated work."""

from __future__ import annotations

import json

import aiohttp
import jsonschema
import pytest
import rasa.core.policies.rule_policy as rule_policy_module
import rasa.core.processor as processor_module
import rasa.server
from aiohttp import web
from aiohttp.test_utils import TestServer
from rasa.core.actions.action import RemoteAction
from rasa.core.policies.rule_policy import RulePolicy
from rasa.engine.graph import ExecutionContext, GraphComponent, GraphSchema, SchemaNode
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.nlu.classifiers.diet_classifier import DIETClassifier
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered
from rasa.shared.utils.schemas.events import EVENT_SCHEMA
from rasa.utils.endpoints import ClientResponseError, EndpointConfig

from bot import rasa_speedups
from core import fast_json

VALID = {"events": [{"event": "slot", "name": "failure_count", "value": 1}], "responses": [{"text": "好的"}]}
INVALID = {"events": [{"event": "slot"}], "responses": [{"text": "好的"}]}


@pytest.fixture
def launcher(monkeypatch):
    """The launcher's validator installed as in `python -m bot.rasa_server`, undone afterwards."""
    monkeypatch.setattr(jsonschema, "validate", jsonschema.validate)
    monkeypatch.setattr(EndpointConfig, "session", EndpointConfig.session)
    monkeypatch.setattr(EndpointConfig, "request", EndpointConfig.request)
    monkeypatch.setattr(rasa.server, "configure_cors", rasa.server.configure_cors)
    monkeypatch.setattr(RemoteAction, "action_response_format_spec",
                        staticmethod(RemoteAction.action_response_format_spec))
    monkeypatch.setattr(Event, "resolve_by_type", Event.__dict__["resolve_by_type"])
    monkeypatch.setattr(GraphSchema, "minimal_graph_schema", GraphSchema.minimal_graph_schema)
    monkeypatch.setattr(DaskGraphRunner, "run", DaskGraphRunner.run)
    monkeypatch.setattr(processor_module, "copy", processor_module.copy)
    monkeypatch.setattr(rule_policy_module, "copy", rule_policy_module.copy)
    monkeypatch.setattr(RulePolicy, "format_tracker_states", staticmethod(RulePolicy.format_tracker_states))
    monkeypatch.setattr(DIETClassifier, "_predict", DIETClassifier._predict)
    monkeypatch.setattr(CountVectorsFeaturizer, "_create_features", CountVectorsFeaturizer._create_features)
    monkeypatch.setattr(RulePolicy, "_prediction_states", RulePolicy._prediction_states)
    monkeypatch.setattr(RulePolicy, "_get_possible_keys", RulePolicy._get_possible_keys)
    monkeypatch.setattr(Domain, "is_empty", Domain.is_empty)
    monkeypatch.setattr(rasa_speedups, "_validators", {})
    monkeypatch.setattr(rasa_speedups, "_event_classes", {})
    rasa_speedups.install()
    checks = []
    original = jsonschema.Draft7Validator.check_schema
    monkeypatch.setattr(jsonschema.Draft7Validator, "check_schema",
                        classmethod(lambda cls, schema: (checks.append(schema), original(schema))[1]))
    return checks


def test_rasa_checks_action_responses_through_the_cached_validator_and_the_schema_once(launcher):
    action = RemoteAction("action_answer_faq", None)
    for _ in range(5):
        assert action._validate_action_result(VALID) is True
    assert len(rasa_speedups._validators) == 1, "Rasa did not call the launcher's jsonschema.validate"
    assert len(launcher) == 1, "the schema should be checked once, not on every response"


def test_a_bad_response_is_refused_with_the_same_error_as_jsonschema_gives(launcher):
    schema = RemoteAction.action_response_format_spec()
    with pytest.raises(jsonschema.ValidationError) as ours:
        rasa_speedups.validate_with_cached_validator(INVALID, schema)
    with pytest.raises(jsonschema.ValidationError) as theirs:
        rasa_speedups._original_validate(INVALID, schema)
    assert ours.value.message == theirs.value.message and list(ours.value.path) == list(theirs.value.path)
    rasa_speedups.validate_with_cached_validator(VALID, schema)  # no error


async def test_action_calls_to_an_endpoint_share_one_kept_alive_connection(launcher):
    peers = []
    bodies = []

    async def webhook(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername"))
        bodies.append(await request.json())
        assert request.headers["X-Shop"] == "1" and request.query["token"] == "secret"
        return web.json_response({"events": [], "responses": []})

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    server = TestServer(app)
    await server.start_server()
    try:
        endpoint = EndpointConfig(f"http://127.0.0.1:{server.port}/webhook", headers={"X-Shop": "1"}, token="secret")
        # as RemoteAction.run calls it
        answers = [await endpoint.request(json={"next_action": "action_answer_faq"}, method="post", timeout=300,
                                          compress=False) for _ in range(3)]
        assert answers == [{"events": [], "responses": []}] * 3
        # one kept-alive connection: the same client port every time
        assert len(peers) == 3 and len(set(peers)) == 1
        # the body is written by orjson, and reads as the same JSON
        tracker = {"events": [{"event": "user", "text": "退款多久到账", "parse_data": {"intent": {"confidence": 0.5}}}]}
        await endpoint.request(json=tracker)
        assert bodies[-1] == tracker and len(set(peers)) == 1
    finally:
        await server.close()


async def test_action_call_errors_are_the_ones_rasa_handles(launcher):
    async def rejecting(request: web.Request) -> web.Response:
        return web.json_response({"action_name": "action_x", "error": "不行"}, status=400)

    async def plain_text(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/reject", rejecting)
    app.router.add_post("/text", plain_text)
    server = TestServer(app)
    await server.start_server()
    try:
        endpoint = EndpointConfig(f"http://127.0.0.1:{server.port}")
        with pytest.raises(ClientResponseError) as rejected:
            await endpoint.request(json={}, method="post", subpath="reject")
        # RemoteAction.run reads the rejection from the error's text
        assert rejected.value.status == 400 and json.loads(rejected.value.text)["action_name"] == "action_x"
        assert await endpoint.request(json={}, method="post", subpath="text") is None
        # a timeout given as aiohttp's own object goes through Rasa's request on the kept session
        assert await endpoint.request(json={}, method="post", subpath="text",
                                      timeout=aiohttp.ClientTimeout(total=5)) is None
        assert not endpoint._kept_session.closed
    finally:
        await endpoint._kept_session.close()
        await server.close()
    with pytest.raises(aiohttp.ClientConnectionError):
        await endpoint.request(json={}, method="post", subpath="reject")


async def test_other_requests_share_one_kept_session(launcher):
    peers = []

    async def status(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername"))
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_get("/status", status)
    server = TestServer(app)
    await server.start_server()
    try:
        endpoint = EndpointConfig(f"http://127.0.0.1:{server.port}/status", headers={"X-Shop": "1"})
        assert [await endpoint.request(method="get", content_type=None) for _ in range(2)] == [{"status": "ok"}] * 2
        assert len(set(peers)) == 1 and endpoint._kept_session._json_serialize is fast_json.dumps
        assert endpoint._kept_session.headers["X-Shop"] == "1"
    finally:
        await endpoint._kept_session.close()
        await server.close()


def test_events_read_from_dicts_are_the_same_and_their_classes_are_looked_up_once(launcher, monkeypatch):
    walks = []
    original = rasa_speedups._original_resolve_by_type
    monkeypatch.setattr(rasa_speedups, "_original_resolve_by_type",
                        lambda name, default=None: (walks.append(name), original(name, default))[1])
    written = [UserUttered("退款多久到账", {"name": "faq", "confidence": 0.99}), ActionExecuted("action_listen"),
               SlotSet("failure_count", 2)]
    for _ in range(3):
        read = [Event.from_parameters(event.as_dict()) for event in written]
        assert read == written
    assert sorted(walks) == ["action", "slot", "user"], "each type name should be looked up once"
    with pytest.raises(ValueError):
        Event.resolve_by_type("no_such_event")
    assert Event.resolve_by_type("no_such_event", default=SlotSet) is SlotSet


def _node(needs):
    return SchemaNode(needs=needs, uses=RulePolicy, constructor_name="load", fn="predict_action_probabilities",
                      config={})


def test_a_graph_run_gets_the_same_minimal_schema_worked_out_once(launcher, monkeypatch):
    schema = GraphSchema({"a": _node({}), "b": _node({"x": "a"}), "c": _node({"x": "b"}), "d": _node({})})
    expected = rasa_speedups._original_minimal_graph_schema(schema, ["c"])
    walks = []
    original = rasa_speedups._original_minimal_graph_schema
    monkeypatch.setattr(rasa_speedups, "_original_minimal_graph_schema",
                        lambda self, targets=None: (walks.append(targets), original(self, targets))[1])
    first, second = schema.minimal_graph_schema(["c"]), schema.minimal_graph_schema(["c"])
    assert first is second and set(first.nodes) == {"a", "b", "c"} == set(expected.nodes)
    assert walks == [["c"]]


def test_debug_log_arguments_are_not_copied_and_states_are_formatted_only_when_logged(launcher, caplog):
    states = [{"user": {"intent": "greet"}}, {"prev_action": {"action_name": "action_listen"}}]
    assert processor_module.copy.deepcopy(states) is states
    assert RulePolicy.format_tracker_states(states) == ""
    with caplog.at_level("DEBUG", logger=rule_policy_module.__name__):
        assert RulePolicy.format_tracker_states(states) == rasa_speedups._original_format_tracker_states(states)


def _responses():
    """Action-server responses of every event kind Rasa's schema names, and broken variants of them."""
    valid = [
        {"events": [], "responses": []},
        {"events": [{"event": "slot", "name": "failure_count", "value": 1, "timestamp": None}],
         "responses": [{"text": "好的", "buttons": [{"title": "转人工", "payload": "/handoff"}]}]},
        {"events": [{"event": "followup", "name": "action_listen"}, {"event": "bot", "text": "您好", "data": {}},
                    {"event": "action", "name": "action_answer_faq", "policy": None, "confidence": None},
                    {"event": "active_loop", "name": None}, {"event": "reset_slots"}, {"event": "restart"},
                    {"event": "user", "text": "退款", "parse_data": {"intent": {"name": "faq", "confidence": 0.9},
                                                                       "entities": [], "intent_ranking": []}}],
         "responses": [{"text": None, "custom": {"handoff": {"reason": "request_human"}}}]},
    ]
    invalid = [
        {"events": [{"event": "slot"}], "responses": []},
        {"events": [{"name": "x"}], "responses": []},
        {"events": [{"event": "no_such_event"}], "responses": []},
        {"events": [{"event": "slot", "name": 3, "value": 1}], "responses": []},
        {"events": [{"event": "user", "text": 5}], "responses": []},
        {"events": [{"event": "bot", "text": "x", "timestamp": "yesterday"}], "responses": []},
        {"events": "slot", "responses": []},
        {"events": [{"event": "action", "name": "a", "confidence": "high"}], "responses": []},
        {"events": None, "responses": []},
        {"events": [], "responses": "好的"},
        {"events": [], "responses": ["好的"]},
        {"events": [5], "responses": []},
        {"events": [{"event": 5}], "responses": []},
        {"events": [{"event": "slot", "name": "a", "value": 1}, {"event": "entities"}], "responses": []},
        {"events": [{"event": "user", "parse_data": {"response_selector": {"all_retrieval_intents": "faq"}}}]},
        {"events": [{"event": "user", "parse_data": {"entities": [{"entity": "order_number"}]}}]},
        {"events": [{"event": "bot", "metadata": "x"}]},
        "events",
    ]
    # every kind the schema names, with what it requires
    required = {"slot": {"name": "a", "value": None}, "entities": {"entities": []}}
    kinds = [variant["properties"]["event"]["const"] for variant in EVENT_SCHEMA["oneOf"]]
    valid.append({"events": [{"event": kind, **required.get(kind, {})} for kind in kinds]})
    valid.append({"events": [{"event": "user", "parse_data": {"response_selector": {
        "all_retrieval_intents": ["faq"], "faq": {"response": {"intent_response_key": "faq/x"}, "ranking": []}}}}]})
    return valid, invalid


def test_the_compiled_check_accepts_and_refuses_exactly_what_jsonschema_does(launcher):
    schema = RemoteAction.action_response_format_spec()
    valid, invalid = _responses()
    for response in valid + invalid:
        try:
            rasa_speedups._original_validate(response, schema)
            expected = None
        except jsonschema.ValidationError as error:
            expected = error.message
        try:
            rasa_speedups.validate_with_cached_validator(response, schema)
            got = None
        except jsonschema.ValidationError as error:
            got = error.message
        assert got == expected, response
    assert sum(1 for response in invalid if _refused(response, schema)) == len(invalid)


def test_rasa_s_response_is_checked_one_event_kind_at_a_time(launcher, monkeypatch):
    schema = RemoteAction.action_response_format_spec()
    rasa_speedups.validate_with_cached_validator(VALID, schema)
    check = rasa_speedups._validators["response"][0]
    assert isinstance(check, rasa_speedups.ByEventKind)
    tried = []
    monkeypatch.setattr(check, "kinds", {name: (lambda event, kind=kind: (tried.append(event["event"]), kind(event)))
                                         for name, kind in check.kinds.items()})
    valid, _ = _responses()
    for response in valid:
        rasa_speedups.validate_with_cached_validator(response, schema)
    assert tried == [event["event"] for response in valid for event in response.get("events") or ()]


def _refused(response, schema) -> bool:
    try:
        rasa_speedups.validate_with_cached_validator(response, schema)
    except jsonschema.ValidationError:
        return True
    return False


class _AddOne(GraphComponent):
    @classmethod
    def create(cls, config, model_storage, resource, execution_context):  # noqa: ANN001, ARG003
        return cls()

    def add(self, number: int, other: int = 0) -> int:
        return number + other + 1


def test_a_graph_runs_in_order_without_dask_with_dask_s_results(launcher, tmp_path):
    def node(needs, target=False):
        return SchemaNode(needs=needs, uses=_AddOne, constructor_name="create", fn="add", config={},
                          eager=True, is_target=target)

    schema = GraphSchema({
        "a": node({"number": "start"}), "b": node({"number": "a"}), "c": node({"number": "a", "other": "b"}),
        "d": node({"number": "c"}, target=True), "unused": node({"number": "start"}),
    })
    runner = DaskGraphRunner(schema, LocalModelStorage(tmp_path), ExecutionContext(schema, "m"))
    expected = rasa_speedups._original_dask_run(runner, {"start": 1}, ["d"])
    assert runner.run({"start": 1}, ["d"]) == expected == {"d": 7}
    assert runner.run({"start": 2}, ["c", "b"]) == rasa_speedups._original_dask_run(runner, {"start": 2}, ["c", "b"])
    assert list(runner._orders) == [("d",), ("c", "b")]


def test_whether_a_domain_is_empty_is_answered_as_rasa_does_and_worked_out_once(launcher, monkeypatch):
    from core.settings import PROJECT_ROOT

    shop, empty = Domain.load(str(PROJECT_ROOT / "domain.yml")), Domain.empty()
    built = []
    original_empty = Domain.empty
    monkeypatch.setattr(Domain, "empty", classmethod(lambda cls: (built.append(1), original_empty.__func__(cls))[1]))
    assert [shop.is_empty(), empty.is_empty()] == [False, True]
    assert [rasa_speedups._original_is_empty(d) for d in (shop, empty)] == [False, True]
    built.clear()
    assert [shop.is_empty() for _ in range(5)] == [False] * 5
    assert built == [], "no empty domain built to answer again"
