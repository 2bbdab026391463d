"""Messages with nothing to classify: a pasted order card or product link, or a chat page's own text.

The bot takes the card as context (the order number is remembered) and asks what the customer
needs, with the likely next steps as buttons; for a menu label ("配送咨询") it asks about that topic
and offers its common questions.
"""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import HANDOFF_BUTTON, faq_button, previous_report, report
from actions.knowledge_access import knowledge_access
from actions.order_replies import task_button

# buttons after an order card: the questions people most often have about an order
ORDER_CARD_TASKS = (("查物流", "track"), ("催发货", "urge"), ("取消订单", "cancel"), ("退换货", "after_sale"),
                    ("开发票", "invoice"))
TOPIC_BUTTONS = 4


class ActionAcknowledgeCard(Action):
    """For the `card` intent (set by nlu_components/open_set_gate.py from the message's shape)."""

    def name(self) -> str:
        return "action_acknowledge_card"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        shape = tracker.latest_message.get("shop_message") or {}
        kb = knowledge_access().kb
        order_number = shape.get("order_number")
        if order_number and previous_report(tracker).get("route") == "order":
            # the bot had asked which order: this is the answer
            return [SlotSet("order_number", str(order_number)), SlotSet("order_task", None),
                    FollowupAction("action_order_problem")]
        if order_number:
            # what the bot can do with that order itself (actions/order_form.py), then a person
            buttons = [task_button(title, task, str(order_number)) for title, task in ORDER_CARD_TASKS]
            dispatcher.utter_message(
                text=f"收到订单 {order_number}。请问这个订单遇到了什么问题？可以直接描述，或选择下面的问题：",
                buttons=[*buttons, HANDOFF_BUTTON],
            )
            report(dispatcher, tracker, "clarification", suggested=[], route="card")
            return [SlotSet("order_number", str(order_number))]
        topic = shape.get("topic")
        if topic == "product":
            dispatcher.utter_message(text="好的，请问您想了解哪件商品的什么信息？可以把商品链接发给我。")
            report(dispatcher, tracker, "clarification", suggested=[], route="ask")
            return []
        categories = kb.by_category()
        if topic in categories:
            entries = categories[topic][:TOPIC_BUTTONS]
            name = kb.category_names.get(topic, topic)
            dispatcher.utter_message(
                text=f"好的，请问关于“{name}”您想了解什么？可以直接描述，或选择常见问题：",
                buttons=[*(faq_button(e.key, e.question) for e in entries), HANDOFF_BUTTON],
            )
            report(dispatcher, tracker, "clarification", suggested=[e.key for e in entries], route="ask")
            return []
        if any(card.get("kind") in ("link", "product") for card in shape.get("cards") or []):
            dispatcher.utter_message(text="收到商品信息。请问您想了解这个商品的什么？直接告诉我就好。")
        else:
            dispatcher.utter_message(response="utter_greet")
        report(dispatcher, tracker, "clarification", suggested=[], route="card")
        return []
