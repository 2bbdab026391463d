"""RulePolicy's prediction without replaying the whole conversation twice per prediction.

py-spy on the Rasa process under load put RulePolicy.predict_action_probabilities at ~14% of Rasa's busy
CPU, half of it in computing the prediction states: Rasa's `_predict` looks for a rule twice (the last user
message as text, then as intent), and each time `_prediction_states` rebuilds the state of every earlier
step of the conversation by replaying all its events on a fresh tracker
(`Domain.states_for_tracker_history` -> `generate_all_prior_trackers`), so the cost grows with the
conversation, and there are two predictions a customer turn (the action, then `action_listen`). The rest
was rule matching: every rule asked of every state of the conversation. Here:

1. The states of a conversation's earlier steps are kept between predictions, with the tracker Rasa
   replayed them on, and a prediction replays only the events added since. Kept states are used only when
   Rasa's own replay provably gives the same ones: the same tracker and domain objects, the kept events
   still the first events of the tracker (by identity), and the new events of kinds whose replay only
   appends to what Rasa replays and changes nothing earlier (no restart, session start, undo or rewind,
   no new loop name nor an action of a known loop, whose run may undo the steps since its previous run, and
   no change to the featurization or entities of a user message a kept state was computed from). Anything
   else is replayed in full, as Rasa does, and kept for the next prediction. Kept: at most
   `CACHE_CONVERSATIONS` conversations and `CACHE_STATES` states in all (~0.9 KB a state with its share of
   the replayed tracker), the least recently used forgotten first, and none longer than its tracker (the
   tracker store's own bound: bot/rasa_tracker_store.py keeps the trackers it handled).
2. The text pass and the intent pass of one prediction share these states: they differ only in the last
   state (Rasa keeps either the user's text or the intent there); every earlier state is the same in both
   (the text removed where an intent is present), so it is kept in that form and only the last state is
   made anew for each call, then passed to Rasa's own `_choose_last_user_input`.
3. Rule matching (`_get_possible_keys`) asks Rasa's `_is_rule_applicable` only of the rules that may apply
   to the conversation's last state, found by the previous action and intent their own last state requires
   (a rule requiring another one is refused by Rasa's code at the first step, see `_RuleIndex`), and stops
   walking back through the conversation once every rule still possible is shorter than the steps checked
   (from there `_is_rule_applicable` answers True without looking). Rasa's caller takes the longest key,
   the first in the set's order among equally long ones: when several are equally long, the set returned is
   Rasa's own, computed by Rasa's code.

The text pass itself is still made: with the shared states and the index it costs little (no rule of the
shop's model needs a text, so the index leaves it no rule to check); what remains of it is the key Rasa
writes for "no rule" (the states as JSON), which `_predict` then drops.

On models/shop.tar.gz, with bot/rasa_speedups.py installed, a prediction in conversations of 5, 15 and 30
turns takes 0.09 ms instead of 0.39, 0.61 and 0.99 ms (medians; 2.2 ms at the 30th turn).
"""

from __future__ import annotations

import functools
import itertools
import operator
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Dict, FrozenSet, List, Optional, Set, Tuple

from rasa.core.featurizers.tracker_featurizers import MaxHistoryTrackerFeaturizer, TrackerFeaturizer
from rasa.core.policies.policy import SupportedData
from rasa.core.policies.rule_policy import RulePolicy
from rasa.shared.core.constants import PREVIOUS_ACTION, SHOULD_NOT_BE_SET, USER
from rasa.shared.core.domain import Domain, State
from rasa.shared.core.events import (
    ActionExecuted,
    ActionExecutionRejected,
    ActiveLoop,
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    DefinePrevUserUtteredFeaturization,
    EntitiesAdded,
    Event,
    FollowupAction,
    LoopInterrupted,
    ReminderCancelled,
    ReminderScheduled,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import ACTION_NAME, INTENT

_original_prediction_states = RulePolicy._prediction_states
_original_get_possible_keys = RulePolicy._get_possible_keys
_original_is_rule_applicable = RulePolicy._is_rule_applicable
# Rasa's rule matching, as RulePolicy defines it (the index below reasons about this code)
_RASA_MATCHING = {name: getattr(RulePolicy, name)
                  for name in ("_is_rule_applicable", "_does_rule_match_state", "_rule_key_to_state")}

# conversations whose states are kept, and all their kept states together (~45 MB at most)
CACHE_CONVERSATIONS = 1000
CACHE_STATES = 50_000

# Events whose replay (`apply_to`) changes only the replayed tracker and which `applied_events` appends as
# they come (an ActionExecuted only when it is not a known loop's action: checked apart). Exact types: a
# subclass may replay differently.
_APPENDED = frozenset({
    ActionExecuted, ActionExecutionRejected, ActiveLoop, BotUttered, ConversationPaused, ConversationResumed,
    FollowupAction, LoopInterrupted, ReminderCancelled, ReminderScheduled, SlotSet, UserUttered,
})
# events whose replay changes the latest user message itself (an object the tracker shares with every
# replay), so a state computed from that message before them would now be computed differently
_CHANGING_THE_MESSAGE = frozenset({DefinePrevUserUtteredFeaturization, EntitiesAdded})


@dataclass
class _Kept:
    """One conversation's replay: what Rasa's `generate_all_prior_trackers` gives for its first events."""

    # the tracker and the domain the states were computed for (weakly: the cache must not keep them; the
    # replay is forgotten when the tracker goes)
    tracker: weakref.ReferenceType[DialogueStateTracker]
    domain: weakref.ReferenceType[Domain]
    # the tracker's events replayed so far (held, so that their identities stay unique while compared)
    events: List[Event]
    # names of the loops the events activate (`applied_events` treats those loops' actions apart)
    loop_names: FrozenSet[str]
    # the replayed tracker after every applied event: Rasa's last prior tracker
    replay: DialogueStateTracker
    # the state before each action, the user's text removed where an intent is present (both passes do so)
    settled: List[State]
    # the latest user message when the last settled state was computed
    settled_message: Optional[UserUttered]


class _PriorStates:
    """Kept replays, by conversation, least recently used first out."""

    def __init__(self, conversations: int = CACHE_CONVERSATIONS, states: int = CACHE_STATES) -> None:
        self.max_conversations = conversations
        self.max_states = states
        self._kept: OrderedDict[str, _Kept] = OrderedDict()
        self._state_count = 0
        self._lock = threading.Lock()
        # conversations whose tracker is gone (appended by the garbage collector, at any moment)
        self._gone: List[Tuple[str, weakref.ReferenceType]] = []

    def clear(self) -> None:
        """Forgets every kept replay."""
        with self._lock:
            self._kept.clear()
            self._state_count = 0

    def kept_states(self) -> int:
        """How many states are kept, all conversations together."""
        return self._state_count

    def __len__(self) -> int:
        return len(self._kept)

    def _tracker_gone(self, sender_id: str, ref: weakref.ReferenceType) -> None:
        self._gone.append((sender_id, ref))

    def _forget_gone(self) -> None:
        """Forgets the replays of trackers that are gone (their events too: the cache holds them), with the
        lock held."""
        while self._gone:
            sender_id, ref = self._gone.pop()
            kept = self._kept.get(sender_id)
            if kept is not None and kept.tracker is ref:
                del self._kept[sender_id]
                self._state_count -= len(kept.settled)

    def _take(self, sender_id: str) -> Optional[_Kept]:
        with self._lock:
            self._forget_gone()
            kept = self._kept.pop(sender_id, None)
            if kept is not None:
                self._state_count -= len(kept.settled)
            return kept

    def _put(self, sender_id: str, kept: _Kept) -> None:
        if len(kept.settled) > self.max_states:
            return
        with self._lock:
            self._forget_gone()
            old = self._kept.pop(sender_id, None)
            if old is not None:
                self._state_count -= len(old.settled)
            self._kept[sender_id] = kept
            self._state_count += len(kept.settled)
            while len(self._kept) > self.max_conversations or self._state_count > self.max_states:
                _, dropped = self._kept.popitem(last=False)
                self._state_count -= len(dropped.settled)

    def states(self, tracker: DialogueStateTracker, domain: Domain) -> Tuple[List[State], State]:
        """The settled states of `tracker`'s earlier steps (shared: not to be changed) and a new state of its
        current step, together what `tracker.past_states(domain)` gives, the text removed from each settled
        state that has an intent."""
        kept = self._take(tracker.sender_id)
        if kept is None or not _continue(kept, tracker, domain):
            gone = functools.partial(self._tracker_gone, tracker.sender_id)
            kept = _replay_all(tracker, domain, weakref.ref(tracker, gone))
        last = _state(domain, kept.replay)
        self._put(tracker.sender_id, kept)
        return kept.settled, last


def _state(domain: Domain, replayed: DialogueStateTracker) -> State:
    """The state of one prior tracker, as `Domain.states_for_tracker_history` computes it."""
    return domain._clean_state(domain.get_active_state(replayed, omit_unset_slots=False))  # noqa: SLF001


def _settle(state: State) -> State:
    """A state as both passes leave an earlier step: Rasa's own `_remove_user_text_if_intent`."""
    TrackerFeaturizer._remove_user_text_if_intent([[state]])  # noqa: SLF001
    return state


def _loop_names(events: List[Event]) -> FrozenSet[str]:
    """The loop names `applied_events` collects from `events`."""
    return frozenset(event.name for event in events if isinstance(event, ActiveLoop) and event.name)


def _replay_all(tracker: DialogueStateTracker, domain: Domain,
                tracker_ref: weakref.ReferenceType[DialogueStateTracker]) -> _Kept:
    """Rasa's replay of the whole conversation (`states_for_tracker_history` without rule-only turns)."""
    settled: List[State] = []
    pending: Optional[State] = None
    replay: Optional[DialogueStateTracker] = None
    settled_message = None
    message = None
    for replay, _ in tracker.generate_all_prior_trackers():
        if pending is not None:
            settled.append(_settle(pending))
            settled_message = message
        pending = _state(domain, replay)
        message = replay.latest_message
    events = list(tracker.events)
    return _Kept(tracker_ref, weakref.ref(domain), events, _loop_names(events), replay, settled, settled_message)


def _continue(kept: _Kept, tracker: DialogueStateTracker, domain: Domain) -> bool:
    """Replays the events added to `tracker` since `kept` on it, when Rasa's replay of the whole
    conversation would give the kept states and then these; False (and `kept` left as it was) when not."""
    if kept.tracker() is not tracker or kept.domain() is not domain:
        return False
    events = tracker.events
    count = len(kept.events)
    if len(events) < count or not all(map(operator.is_, itertools.islice(events, count), kept.events)):
        return False
    added = list(itertools.islice(events, count, None))
    for event in added:
        kind = type(event)
        if kind in _CHANGING_THE_MESSAGE:
            if kept.settled_message is kept.replay.latest_message:
                return False
        elif kind not in _APPENDED:
            return False
        elif kind is ActionExecuted and event.action_name in kept.loop_names:
            # `applied_events` may undo the steps since this loop's previous run
            return False
        elif kind is ActiveLoop and event.name and event.name not in kept.loop_names:
            # a new loop name changes how `applied_events` reads this loop's earlier actions
            return False
    replay = kept.replay
    for event in added:
        if isinstance(event, ActionExecuted):
            kept.settled.append(_settle(_state(domain, replay)))
            kept.settled_message = replay.latest_message
        replay.update(event)
    kept.events.extend(added)
    return True


_kept = _PriorStates()


def _shares_states(policy: RulePolicy, tracker: DialogueStateTracker, domain: Domain) -> bool:
    """Whether the policy, tracker and domain are the ones whose prediction states are computed here as
    Rasa computes them; anything else goes through Rasa's own code."""
    featurizer = policy.featurizer
    return (
        type(tracker) is DialogueStateTracker
        and type(domain) is Domain
        and type(featurizer) is MaxHistoryTrackerFeaturizer
        # Rasa then asks for neither rule-only turns removed nor `action_unlikely_intent` removed
        and policy.supported_data() != SupportedData.ML_DATA
    )


def prediction_states_from_kept(
    self: RulePolicy,
    tracker: DialogueStateTracker,
    domain: Domain,
    use_text_for_last_user_input: bool = False,
    rule_only_data: Optional[Dict[str, Any]] = None,
) -> List[State]:
    """Policy._prediction_states for RulePolicy, from the conversation's kept states."""
    if not _shares_states(self, tracker, domain):
        return _original_prediction_states(self, tracker, domain, use_text_for_last_user_input, rule_only_data)
    settled, last = _kept.states(tracker, domain)
    featurizer = self.featurizer
    states = featurizer.slice_state_history([*settled, last], featurizer.max_history)
    # Rasa's own choice of text or intent, for the last state only: it is the only one it changes (the
    # settled states hold no text next to an intent), and it is new
    featurizer._choose_last_user_input([states[-1:]], use_text_for_last_user_input)  # noqa: SLF001
    return states


class _RuleIndex:
    """One lookup's rules by what their last state requires of the conversation's last state: the name of
    the previous action and the intent, each only where Rasa's `_is_rule_applicable` provably refuses a
    conversation state without it (the rule's last state has a previous action, so Rasa compares the
    states, and the value is a plain string other than SHOULD_NOT_BE_SET, which Rasa requires equal)."""

    def __init__(self, policy: RulePolicy, lookup: Dict[str, str]) -> None:
        self.keys = frozenset(lookup)
        self.by_need: Dict[Tuple[Optional[str], Optional[str]], List[str]] = {}
        self.length: Dict[str, int] = {}
        for key in lookup:
            rule_states = policy._rule_key_to_state(key)  # noqa: SLF001
            self.length[key] = len(rule_states)
            self.by_need.setdefault(_needs(rule_states), []).append(key)

    def candidates(self, state: State) -> List[str]:
        """The rules that may apply to a conversation whose last state is `state` (the others cannot)."""
        action = _plain(state.get(PREVIOUS_ACTION, {}).get(ACTION_NAME))
        intent = _plain(state.get(USER, {}).get(INTENT))
        needs = dict.fromkeys([(action, intent), (action, None), (None, intent), (None, None)])
        return [key for need in needs for key in self.by_need.get(need, ())]


def _plain(value: Any) -> Optional[str]:
    """A value as a rule may require it (a non-empty string other than SHOULD_NOT_BE_SET), else None."""
    return value if isinstance(value, str) and value and value != SHOULD_NOT_BE_SET else None


def _needs(rule_states: List[State]) -> Tuple[Optional[str], Optional[str]]:
    """What a rule's last state requires: (previous action name, intent), None where it may not."""
    if not rule_states or not rule_states[-1].get(PREVIOUS_ACTION):
        # a rule of no state applies to anything; a conversation-start state skips the comparison
        return None, None
    last = rule_states[-1]
    action = last[PREVIOUS_ACTION].get(ACTION_NAME)
    intent = last.get(USER, {}).get(INTENT)
    return (action if type(action) is str and _plain(action) else None,
            intent if type(intent) is str and _plain(intent) else None)


def _rule_index(policy: RulePolicy, lookup: Dict[str, str]) -> _RuleIndex:
    """The index of `lookup`'s rules, built once per set of rules (training removes rules from a lookup)."""
    indexes: Dict[int, _RuleIndex] = policy.__dict__.setdefault("_rule_indexes", {})
    index = indexes.get(id(lookup))
    if index is None or index.keys != lookup.keys():
        if len(indexes) > 8:
            indexes.clear()
        index = indexes[id(lookup)] = _RuleIndex(policy, lookup)
    return index


def _matches_rasa(policy: RulePolicy) -> bool:
    """Whether the policy matches rules with Rasa's own code, which the index's reasoning is about."""
    kind = type(policy)
    return all(getattr(kind, name) is original for name, original in _RASA_MATCHING.items())


def indexed_possible_keys(self: RulePolicy, lookup: Dict[str, str], states: List[State]) -> Set[str]:
    """RulePolicy._get_possible_keys: Rasa's `_is_rule_applicable` asked only of the rules that may apply
    to the last state, and only as far back as the longest rule still possible. Its caller takes the
    longest key of the result, the first of the set's order among equally long ones: when there are
    several, the set is Rasa's own, in Rasa's order."""
    if not states or not _matches_rasa(self):
        return _original_get_possible_keys(self, lookup, states)
    index = _rule_index(self, lookup)
    last = states[-1]
    possible_keys = set(filter(lambda key: self._is_rule_applicable(key, 0, last), index.candidates(last)))
    length = index.length
    for i, state in enumerate(reversed(states)):
        if i == 0:
            continue
        if all(length[key] <= i for key in possible_keys):
            # from here on `_is_rule_applicable` holds for every key left without looking at the state
            break
        possible_keys = set(filter(lambda key: self._is_rule_applicable(key, i, state), possible_keys))  # noqa: B023
    if len(possible_keys) > 1:
        longest = max(map(len, possible_keys))
        if sum(1 for key in possible_keys if len(key) == longest) > 1:
            return _original_get_possible_keys(self, lookup, states)
    return possible_keys


def install() -> None:
    """Installs the kept states and the rule index in this process (on the class, so a model loaded before
    uses them too)."""
    RulePolicy._prediction_states = prediction_states_from_kept
    RulePolicy._get_possible_keys = indexed_possible_keys
