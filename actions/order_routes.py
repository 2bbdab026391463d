"""Starting the order form from readings that did not name it (电话填错了 read as unsure, 我要退货 read as a
knowledge-base question, 保温杯想退货 read as a product question): which task, by actions/order_tasks.py."""

from __future__ import annotations

from typing import List, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet

from actions.order_access import verified_customer
from actions.order_form import FORM, TASK_SLOT, typed_order_number
from actions.order_tasks import task_to_start, vocabulary

# what a message read as a product question may ask of an order instead (耳机想退货, 收到的杯子漏水); pre-sale
# questions about dispatch or invoices (这个什么时候发货, 能开发票吗) stay with the product
ORDER_TASKS_FROM_PRODUCT_WORDS = ("urge", "change_receiver", "after_sale", "cancel", "problem")


def start_order_task(task: str) -> List[EventType]:
    """Events that start the order form on `task`."""
    return [SlotSet(TASK_SLOT, task), FollowupAction(FORM)]


def order_task_for(tracker: Tracker, entry_key: Optional[str] = None) -> Optional[str]:
    """The order task this message asks for (actions/order_tasks.py `task_to_start`): read as the knowledge-base
    entry `entry_key`, or unsure / as a product question when it is None."""
    entry_task = vocabulary().task_for_faq(entry_key) if entry_key else None
    return task_to_start(str(tracker.latest_message.get("text") or ""), entry_task.name if entry_task else None,
                         bool(typed_order_number(tracker)), bool(verified_customer(tracker)),
                         entry_read=entry_key is not None)


def order_task_in_product_question(tracker: Tracker) -> Optional[str]:
    """An order task a message read as a product question asks for (保温杯想退货, 扫地机充不进电了)."""
    task = order_task_for(tracker)
    return task if task in ORDER_TASKS_FROM_PRODUCT_WORDS else None
