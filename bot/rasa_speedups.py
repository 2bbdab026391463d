"""Work Rasa 3.6 repeats on every customer message without need, taken out of the Rasa process.

Each item was found with py-spy on Rasa under the open-loop load (docs/benchmarks.md); none changes what
Rasa decides, answers or stores.

1. Rasa checks every action-server response with `jsonschema.validate(response, schema)`, which first
   checks the schema itself against JSON Schema's meta-schema, every time, then walks the response in
   pure Python (each event against every event kind's sub-schema). Here each schema is compiled once to
   Python code by fastjsonschema, which accepts a valid response in a fraction of the time; a response it
   refuses goes through jsonschema's own validator (built once), so what is refused, and the error Rasa
   reports, are jsonschema's.
2. Rasa opens a new HTTP session, and so a new connection, for every call to the action server, and
   writes the tracker it sends with the json module. Here a JSON POST (every action call) goes over the
   endpoint's kept-alive connections (bot/json_http.py, one pool per endpoint and event loop) with the
   same URL, parameters, headers and timeout, and the body is written by orjson (core/fast_json.py): the
   same JSON, in a fifth of the time, and about a fifth of aiohttp's work around each request. Any other
   request keeps one aiohttp session per endpoint and event loop, lent to every call.
3. Rasa finds an event's class from its type name by walking every subclass of `Event` (and asking
   `inspect.isabstract` of each), for every event it reads: the action server's events on every turn.
   Here the answer is remembered per type name.
4. Rasa's graph runner works out the nodes a run needs (`GraphSchema.minimal_graph_schema`) by walking
   the graph's dependencies anew on every run (once for each message's parse and twice per turn for the
   policies), then hands them to dask, which orders the same dozen nodes again. The graph does not change
   while the model is loaded, so here the nodes a target needs are worked out and ordered once, and a run
   calls them in that order in this thread, as dask's synchronous scheduler does.
5. Rasa deep-copies tracker states and events into debug-log arguments whether or not debug logging is on
   (`processor.py`, `rule_policy.py`), and the rule policy formats every state of the conversation as
   text for one of them. Here the log gets the values themselves (the log line is written at once, so a
   copy changes nothing), and the states are formatted only when that debug line is written.
6. DIET's intent prediction runs as a TensorFlow function call for a network of three small layers; for
   the shop's configuration it is computed with numpy from the same weights (bot/rasa_diet_inference.py).
7. The count-vector featurizers run scikit-learn's `transform` twice a message each (the tokens, the
   sentence), which checks its parameters and builds its analyzer on every call; here the same matrices
   are counted from the fitted vocabulary directly (bot/rasa_count_vectors.py).
8. The rule policy replays the whole conversation into states twice a prediction (for its text pass and
   its intent pass) and tests every rule against them, twice a turn; here a conversation's earlier states
   are kept and only new events replayed, both passes share them, and rules are looked up by what their
   last state needs (bot/rasa_rule_states.py).
9. Rasa asks on every message whether the domain is empty, which it answers by building an empty domain and
   comparing both written out as dictionaries; a loaded domain does not change, so here the answer is
   worked out once per domain.
10. Rasa's response schema says each event is "one of" 23 event kinds, each kind told apart by its `event`
    name; a check of "one of" tries all 23 on every event (each failed try raising inside the check). Here
    the kind named by the event is the only one tried, with the schema's common part: the same answer,
    since no event can match a kind whose name it does not carry. What this refuses still goes through
    jsonschema (item 1).
11. Before running an action Rasa copies the whole tracker, by replaying every event of the conversation,
    so that events the policy attached to its prediction can be dropped if the action is rejected. When the
    action only reads the tracker (a custom action on the action server, a response, listening), the copy is
    the tracker itself: with no events in the prediction, or with only the rule policy's note of how the last
    message is featurized (`DefinePrevUserUtteredFeaturization`, which comes with most answers the rules
    pick), which is applied to the tracker for the action's run and taken off again afterwards, as the copy
    would have been dropped. Forms and Rasa's other default actions, and any other events, still get their
    copy, since some of them change the tracker they are given.
12. Rasa sends the action server the whole conversation on every call, and each customer message in it
    carries the classifiers' full rankings (two lists of ten scored candidates) and its token offsets: about
    two fifths of the body after ten messages, written by Rasa and read by the action server each time. The
    actions read the newest message whole (`latest_message`, untouched here) and only the text, metadata and
    names of earlier ones, so earlier messages are sent without their rankings and offsets.
13. Rasa's server adds CORS headers to every response through Sanic-CORS's middleware, also when no origin is
    allowed (`rasa run` without `--cors`), where it adds none: here the middleware is installed only when an
    origin is given (bot/action_server.py does the same for the action server).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Callable, Dict, List, Optional, Tuple, Type

import aiohttp
import fastjsonschema
import jsonschema
import rasa.core.policies.rule_policy as rule_policy_module
import rasa.core.processor as processor_module
import rasa.server as rasa_server_module
from rasa.core.actions.action import ActionBotResponse, ActionListen, ActionRetrieveResponse, RemoteAction
from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
from rasa.core.policies.rule_policy import RulePolicy
from rasa.engine.exceptions import GraphRunError
from rasa.engine.graph import GraphSchema
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import DefinePrevUserUtteredFeaturization, Event
from rasa.shared.utils.schemas.events import EVENT_SCHEMA
from rasa.utils.endpoints import ClientResponseError, EndpointConfig, concat_url
from yarl import URL

from bot import rasa_count_vectors, rasa_diet_inference, rasa_rule_states
from bot.action_server import without_cors_unless_asked
from bot.json_http import JsonPoster
from core import fast_json

# 1. the action-response check
_original_validate = jsonschema.validate
# Rasa's action-response schema, built once instead of on every call
_RESPONSE_SCHEMA = RemoteAction.action_response_format_spec()


def kept_response_schema() -> Dict[str, Any]:
    """RemoteAction.action_response_format_spec, built once."""
    return _RESPONSE_SCHEMA

# per distinct schema: (fastjsonschema's compiled check, jsonschema's validator)
_validators: Dict[str, Tuple[Any, Any]] = {}


def validate_with_cached_validator(instance: Any, schema: Dict[str, Any], cls: Any = None, *args: Any,
                                   **kwargs: Any) -> None:
    """jsonschema.validate, with the schema checked and compiled once per distinct schema; what the compiled
    check refuses is decided, and its error raised, by jsonschema."""
    if cls is not None or args or kwargs:
        return _original_validate(instance, schema, cls, *args, **kwargs)
    # Rasa's own schema is the kept one (no need to write it out to know it); any other is known by its text
    key = "response" if schema is _RESPONSE_SCHEMA else json.dumps(schema, sort_keys=True, default=str)
    checks = _validators.get(key)
    if checks is None:
        validator_class = jsonschema.validators.validator_for(schema)
        validator_class.check_schema(schema)
        fast = ByEventKind() if key == "response" else fastjsonschema.compile(schema)
        checks = _validators[key] = (fast, validator_class(schema))
    fast, validator = checks
    try:
        fast(instance)
        return None
    except fastjsonschema.JsonSchemaException:
        pass
    error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
    if error is not None:
        raise error
    return None


# 10. one event kind tried per event
class ByEventKind:
    """Rasa's action-response check (item 1's compiled check for Rasa's own schema), trying for each event only
    the kind it names; raises fastjsonschema.JsonSchemaException where the full schema would refuse."""

    def __init__(self) -> None:
        # the response without its events' "oneOf"; each event's common part; each kind by the name it requires
        self.outside = fastjsonschema.compile({**_RESPONSE_SCHEMA, "properties": {
            **_RESPONSE_SCHEMA["properties"], "events": {"type": "array"}}})
        self.common = fastjsonschema.compile({key: value for key, value in EVENT_SCHEMA.items() if key != "oneOf"})
        self.kinds = {kind["properties"]["event"]["const"]: fastjsonschema.compile(kind)
                      for kind in EVENT_SCHEMA["oneOf"]}

    def __call__(self, response: Any) -> None:
        self.outside(response)
        for event in response.get("events") or ():
            self.common(event)
            kind = self.kinds.get(event["event"])
            if kind is None:
                raise fastjsonschema.JsonSchemaException(f"no event kind is called {event['event']!r}")
            kind(event)


# 2. the action server's session
_original_session = EndpointConfig.session


class _LentSession:
    """`async with` that lends an endpoint's kept session and leaves it open afterwards."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self.session

    async def __aexit__(self, *_exc: Any) -> None:
        return None


def kept_session(endpoint: EndpointConfig) -> _LentSession:
    """EndpointConfig.session, made once per endpoint and event loop instead of once per request."""
    loop = asyncio.get_running_loop()
    session = getattr(endpoint, "_kept_session", None)
    if session is None or session.closed or session._loop is not loop:  # noqa: SLF001 - aiohttp keeps no public handle
        session = _original_session(endpoint)
        # aiohttp takes the body's writer only as a constructor argument; Rasa's constructor call is kept
        session._json_serialize = fast_json.dumps  # noqa: SLF001
        endpoint._kept_session = session  # noqa: SLF001
    return _LentSession(session)


_original_request = EndpointConfig.request


async def request_over_kept_connections(self: EndpointConfig, method: str = "post", subpath: Optional[str] = None,
                                        content_type: Optional[str] = "application/json", compress: bool = False,
                                        **kwargs: Any) -> Optional[Any]:
    """EndpointConfig.request; a plain JSON POST (Rasa's action calls) goes through the endpoint's JsonPoster.
    The same answers and errors: Rasa's ClientResponseError from status 400 on, None for a body that is not
    JSON, aiohttp's connection errors, asyncio.TimeoutError."""
    timeout = kwargs.get("timeout", DEFAULT_REQUEST_TIMEOUT)
    if (method.lower() != "post" or compress or content_type != "application/json" or self.cafile
            or self.basic_auth or not set(kwargs) <= {"json", "timeout"} or not isinstance(timeout, int | float)):
        return await _original_request(self, method, subpath, content_type, compress, **kwargs)
    params = self.combine_parameters()
    # one poster per address: the URL is built (by yarl, a tenth of the call's work) only for a new one
    key = (self.url, subpath, tuple(sorted((str(name), str(value)) for name, value in params.items())))
    posters: Dict[Tuple[Any, ...], JsonPoster] = self.__dict__.setdefault("_posters", {})
    poster = posters.get(key)
    if poster is None or poster.loop is not asyncio.get_running_loop():
        # a poster's connections belong to the event loop it was made in (a test may run several loops)
        url = URL(concat_url(self.url, subpath))
        poster = posters[key] = JsonPoster(url.update_query(params) if params else url, headers=self.headers)
    response = await poster.post(fast_json.dumps_bytes(kwargs.get("json")), float(timeout))
    if response.status >= 400:
        raise ClientResponseError(response.status, response.reason, response.body)
    if response.content_type != "application/json":
        return None  # aiohttp's response.json() refuses it; Rasa's request answers None
    return response.json()


# 3. event classes by type name
_original_resolve_by_type = Event.resolve_by_type
_event_classes: Dict[str, Type[Event]] = {}


def resolve_event_type(type_name: str, default: Optional[Type[Event]] = None) -> Optional[Type[Event]]:
    """Event.resolve_by_type, remembering each type name it found a class for."""
    found = _event_classes.get(type_name)
    if found is None:
        found = _original_resolve_by_type(type_name, default)
        if found is not None and found is not default:
            _event_classes[type_name] = found
    return found


# 4. the nodes a graph run needs
_original_minimal_graph_schema = GraphSchema.minimal_graph_schema


def kept_minimal_graph_schema(self: GraphSchema, targets: Optional[List[str]] = None) -> GraphSchema:
    """GraphSchema.minimal_graph_schema, worked out once per schema and targets."""
    kept: Dict[Optional[Tuple[str, ...]], GraphSchema] = self.__dict__.setdefault("_minimal_schemas", {})
    key = tuple(targets) if targets else None
    schema = kept.get(key)
    if schema is None:
        schema = kept[key] = _original_minimal_graph_schema(self, targets)
    return schema


_original_dask_run = DaskGraphRunner.run


def run_in_order(self: DaskGraphRunner, inputs: Optional[Dict[str, Any]] = None,
                 targets: Optional[List[str]] = None) -> Dict[str, Any]:
    """DaskGraphRunner.run without dask: the needed nodes called in an order worked out once per targets."""
    run_targets = targets if targets else self._graph_schema.target_names
    orders: Dict[Tuple[str, ...], List[Tuple[str, Any, Tuple[str, ...]]]] = self.__dict__.setdefault("_orders", {})
    order = orders.get(tuple(run_targets))
    if order is None:
        order = orders[tuple(run_targets)] = _call_order(self, run_targets)
    results: Dict[str, Any] = {}
    for name, value in (inputs or {}).items():
        if isinstance(value, str) and any(name == node for node, _, _ in order):
            raise GraphRunError(f"Input value '{value}' clashes with a node name.")
        # an input reaches the nodes as dask would hand it to them: (name, value)
        results[name] = (name, value)
    try:
        for name, node, needs in order:
            results[name] = node(*(results.get(need, need) for need in needs))
    except RuntimeError as error:
        raise GraphRunError("Error running runner.") from error
    return dict(results[target] for target in run_targets)


def _call_order(runner: DaskGraphRunner, targets: List[str]) -> List[Tuple[str, Any, Tuple[str, ...]]]:
    """The nodes `targets` need, each after the nodes it needs: (name, node, names of what it needs)."""
    schema = runner._graph_schema.minimal_graph_schema(targets)  # noqa: SLF001 - the runner's own schema
    order: List[Tuple[str, Any, Tuple[str, ...]]] = []
    placed: set = set()

    def place(name: str) -> None:
        if name in placed or name not in schema.nodes:
            return
        placed.add(name)
        needs = tuple(schema.nodes[name].needs.values())
        for need in needs:
            place(need)
        order.append((name, runner._instantiated_nodes[name], needs))  # noqa: SLF001

    for name in schema.nodes:
        place(name)
    return order


# 5. debug-log arguments
class _LogArgumentCopies:
    """Stands in for the `copy` module in Rasa modules that use it only to copy debug-log arguments."""

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:  # noqa: ARG004 - copy.deepcopy's signature
        return value


_original_format_tracker_states = RulePolicy.format_tracker_states


def format_states_when_logged(states: List[Dict]) -> str:
    """RulePolicy.format_tracker_states, for its one debug line: formatted only when debug logging is on."""
    if not logging.getLogger(rule_policy_module.__name__).isEnabledFor(logging.DEBUG):
        return ""
    return _original_format_tracker_states(states)


# 9. the domain's emptiness
_original_is_empty = Domain.is_empty


def is_empty_once(self: Domain) -> bool:
    """Domain.is_empty, worked out once per domain object."""
    known = self.__dict__.get("_shop_is_empty")
    if known is None:
        known = self.__dict__["_shop_is_empty"] = _original_is_empty(self)
    return known


# 11. no copy of the tracker for actions that only read it
_original_run_action = processor_module.MessageProcessor._run_action
_READ_ONLY_ACTIONS = (ActionListen, RemoteAction, ActionBotResponse, ActionRetrieveResponse)


async def run_action_on_tracker_when_read_only(self: Any, action: Any, tracker: Any, output_channel: Any, nlg: Any,
                                               prediction: Any) -> bool:
    """MessageProcessor._run_action, whose first step copies the tracker; that copy is the tracker itself
    when the prediction brings no events and the action only reads."""
    if type(action) not in _READ_ONLY_ACTIONS or not all(
            isinstance(event, DefinePrevUserUtteredFeaturization) for event in prediction.events):
        return await _original_run_action(self, action, tracker, output_channel, nlg, prediction)

    def the_tracker_itself() -> Any:
        del tracker.copy  # only Rasa's own first copy: later ones, if any, are real
        return tracker

    tracker.copy = the_tracker_itself
    if prediction.events:
        action.run = _run_then_take_off(action, tracker, prediction.events)
    try:
        return await _original_run_action(self, action, tracker, output_channel, nlg, prediction)
    finally:
        tracker.__dict__.pop("copy", None)
        action.__dict__.pop("run", None)


def _run_then_take_off(action: Any, tracker: Any, lent: List[Event]) -> Callable[..., Any]:
    """`action.run`, after which the prediction's featurization notes Rasa applied to the lent tracker come off
    it again, with the flag they set on the last message, as they would with the copy dropped: Rasa applies them
    once more itself if the action was not rejected."""
    run = type(action).run
    message = tracker.latest_message
    featurized = message.use_text_for_featurization if message is not None else None

    async def run_then_take_off(*args: Any, **kwargs: Any) -> Any:
        try:
            return await run(action, *args, **kwargs)
        finally:
            for event in reversed(lent):
                if tracker.events and tracker.events[-1] is event:
                    tracker.events.pop()
            if message is not None:
                message.use_text_for_featurization = featurized

    return run_then_take_off


# 12. earlier messages sent to the action server without their rankings
_original_action_call_format = RemoteAction._action_call_format
# what the actions never read of a customer message other than the newest
EARLIER_MESSAGE_DETAIL = ("intent_ranking", "response_selector", "text_tokens")


def action_call_without_earlier_rankings(self: RemoteAction, tracker: Any, domain: Any) -> Dict[str, Any]:
    """RemoteAction._action_call_format, with the rankings and token offsets of every customer message but the
    newest left out of the tracker's events (the events' own dictionaries are not changed)."""
    call = _original_action_call_format(self, tracker, domain)
    events = call["tracker"].get("events") or []
    users = [index for index, event in enumerate(events) if event.get("event") == "user"]
    for index in users[:-1]:
        event = events[index]
        parse_data = event.get("parse_data")
        if parse_data and any(key in parse_data for key in EARLIER_MESSAGE_DETAIL):
            events[index] = {**event, "parse_data": {key: value for key, value in parse_data.items()
                                                     if key not in EARLIER_MESSAGE_DETAIL}}
    return call


# 13. no CORS middleware without an origin
_original_configure_cors = rasa_server_module.configure_cors


def install_cors_rule() -> None:
    """Rasa's configure_cors, leaving the app alone when no origin is allowed."""
    rasa_server_module.configure_cors = without_cors_unless_asked(_original_configure_cors)


def install() -> None:
    """Installs every item above in this process (Rasa imports `jsonschema.validate` at call time)."""
    install_cors_rule()
    jsonschema.validate = validate_with_cached_validator
    RemoteAction.action_response_format_spec = staticmethod(kept_response_schema)
    EndpointConfig.session = kept_session
    EndpointConfig.request = request_over_kept_connections
    Event.resolve_by_type = staticmethod(resolve_event_type)
    GraphSchema.minimal_graph_schema = kept_minimal_graph_schema
    DaskGraphRunner.run = run_in_order
    processor_module.copy = _LogArgumentCopies
    rule_policy_module.copy = _LogArgumentCopies
    RulePolicy.format_tracker_states = staticmethod(format_states_when_logged)
    rasa_diet_inference.install()
    rasa_count_vectors.install()
    Domain.is_empty = is_empty_once
    rasa_rule_states.install()
    processor_module.MessageProcessor._run_action = run_action_on_tracker_when_read_only
    RemoteAction._action_call_format = action_call_without_earlier_rankings
