"""A problem with one order: find out which order, then hand it to a person with the order number.

The order number comes from the message (a typed number or a pasted order card), the page the
widget is on (metadata `order_number`), an earlier turn, or the form's question, which offers a
verified customer their latest orders (from the shop's order system, `orders/`) as buttons. A person
takes the problem with the order number.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.conversation import report
from actions.escalate import hand_over
from actions.order_access import verified_customers_orders
from handoff.escalation import rules

ORDER_SLOT = "order_number"
# counts the customer's turns while the form waits; setting it keeps the form going and asking again
WAITING_SLOT = "order_form_turns"
# while the bot waits for the order number, more about the problem keeps the form (it asks again);
# anything else leaves it (an "ok" or a statement: the number can come later; a new question, 算了, a person)
STAY_INTENTS = ("order_problem",)


def known_order_number(tracker: Tracker) -> Optional[str]:
    """The order number from this message, its pasted card, the page's metadata or an earlier turn."""
    entity = next(tracker.get_latest_entity_values(ORDER_SLOT), None)
    if entity:
        return str(entity)
    card = (tracker.latest_message.get("shop_message") or {}).get("order_number")
    if card:
        return str(card)
    page = (tracker.latest_message.get("metadata") or {}).get(ORDER_SLOT)
    if page:
        return str(page)
    slot = tracker.get_slot(ORDER_SLOT)
    return str(slot) if slot else None


class ValidateOrderProblemForm(FormValidationAction):
    """Fills the order number from the card or the page too; keeps the form for an "ok" or more detail."""

    def name(self) -> str:
        return "validate_order_problem_form"

    async def extract_order_number(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """A pasted card's or the page's order number, when the message has no typed one."""
        if tracker.get_slot("requested_slot") != ORDER_SLOT or next(
            tracker.get_latest_entity_values(ORDER_SLOT), None
        ):
            return {}
        shape = tracker.latest_message.get("shop_message") or {}
        number = shape.get("order_number") or (tracker.latest_message.get("metadata") or {}).get(ORDER_SLOT)
        return {ORDER_SLOT: str(number)} if number else {}

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        events = await super().run(dispatcher, tracker, domain)
        filled = any(e.get("event") == "slot" and e.get("name") == ORDER_SLOT and e.get("value") for e in events)
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if not filled and intent in STAY_INTENTS:
            events.append(SlotSet(WAITING_SLOT, float((tracker.get_slot(WAITING_SLOT) or 0) + 1)))
        return events


class ActionAskOrderNumber(Action):
    """The form's question: which order. A verified customer picks one of their latest orders from buttons
    (or types another number); anyone else is asked for the number."""

    def name(self) -> str:
        return "action_ask_order_number"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        customer_id = (tracker.latest_message.get("metadata") or {}).get("customer_id")
        orders = await verified_customers_orders(customer_id)
        if orders:
            buttons = [{"title": f"{o.order_number} {o.summary}",
                        "payload": f'/order_problem{{"order_number": "{o.order_number}"}}'} for o in orders]
            dispatcher.utter_message(response="utter_ask_which_of_your_orders", buttons=buttons)
        else:
            dispatcher.utter_message(response="utter_ask_order_number")
        report(dispatcher, tracker, "clarification", suggested=[], route="order")
        return []


class ActionOrderProblem(Action):
    """Hands the order problem to a person with its order number (the form has found it)."""

    def name(self) -> str:
        return "action_order_problem"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        number = known_order_number(tracker)
        decision = rules().escalate("order_issue", f"订单问题，订单号 {number or '未提供'}")
        return [*hand_over(dispatcher, tracker, decision), SlotSet(ORDER_SLOT, number), SlotSet(WAITING_SLOT, 0.0)]
