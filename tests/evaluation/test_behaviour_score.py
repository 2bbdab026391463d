"""The real-message score: the order form counts for an entry whose policy it applies to the customer's order."""

from __future__ import annotations

from evaluation.behaviour_score import outcome
from evaluation.gateway_observer import Observation
from evaluation.real_messages import Expectation, LabelledMessage


def labelled(*expected: Expectation) -> LabelledMessage:
    return LabelledMessage(session="s" * 12, turn=1, text="…", expected=expected, context=None, held_out=False)


def test_the_order_form_is_right_for_a_task_entry_and_only_for_one():
    dispatch = labelled(Expectation("answer", "shipping_dispatch_time"))  # 怎么还没发货: this order's promise
    refund_time = labelled(Expectation("answer", "refund_arrival_time"))  # 退款多久到账: no order task
    assert outcome(dispatch, Observation("order")) == "right"
    assert outcome(refund_time, Observation("order")) == "unhelpful"
    assert outcome(dispatch, Observation("answer", "refund_arrival_time")) == "confident_wrong"
