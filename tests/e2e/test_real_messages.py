"""The quality gate: held-out real customer messages through the real path (gateway, Rasa, actions).

The messages are JD.com sessions read from ../shared (never copied here) and labelled in
evaluation/real_labels/jddc_held_out.yml; nothing was tuned on them. A confident knowledge-base
answer to a different question is the worst thing the bot can do: at most 5% of them may get one.
"""

from __future__ import annotations

import pytest

from evaluation.behaviour_score import format_report, report
from evaluation.gateway_observer import observe_stack
from evaluation.real_messages import conversation, load_sets, sessions_path

pytestmark = pytest.mark.skipif(not sessions_path().exists(), reason=f"no real sessions at {sessions_path()}")

MAX_CONFIDENT_WRONG = 0.05


@pytest.mark.slow
def test_held_out_real_messages_rarely_get_a_confident_wrong_answer(stack):
    _, held_out = load_sets()
    assert len(held_out) >= 100
    seen = observe_stack(stack, [conversation(m) for m in held_out], concurrency=4)
    assert not [o.error for o in seen if o.error]
    result = report(held_out, seen)
    summary = "\n".join(format_report("held-out real messages", result))
    assert result.shares["confident_wrong"] <= MAX_CONFIDENT_WRONG, summary
    # every explicit ask for a person reaches one
    assert result.explicit_requests_escalated == result.explicit_requests, summary
