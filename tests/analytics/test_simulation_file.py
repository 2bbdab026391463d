"""The shipped simulation file and the simulate command's checks of a file."""

from __future__ import annotations

import pytest

from tests.conftest import ROOT
from tools.simulate_day import SimulationFileError, load_conversations


def test_the_shipped_day_has_at_least_300_well_formed_conversations_of_every_kind():
    conversations = load_conversations(ROOT / "data" / "simulation" / "day.yml")
    assert len(conversations) >= 300
    turns = [next(iter(turn)) for c in conversations for turn in c["turns"]]
    assert {"customer", "agent", "resolve", "rating"} <= set(turns)
    texts = " ".join(str(t.get("customer")) for c in conversations for t in c["turns"] if "customer" in t)
    for sign in ("转人工", "投诉", "退款", "发货"):
        assert sign in texts
    for conversation in conversations:
        kinds = [next(iter(turn)) for turn in conversation["turns"]]
        if "rating" in kinds:
            assert "resolve" in kinds[: kinds.index("rating")], conversation["id"]


@pytest.mark.parametrize(
    "content, message",
    [
        ("conversations: []", "non-empty list"),
        ("conversations:\n  - {id: a, turns: []}\n  - {id: a, turns: []}", "appears twice"),
        ("conversations:\n  - {id: a, at: '25:99', turns: []}", "'at' must look like 09:12"),
        ("conversations:\n  - {id: a, turns: [{shout: 喂}]}", "conversation a, turn 1"),
        ("conversations: [", "not valid YAML"),
    ],
)
def test_a_broken_file_is_refused_naming_the_conversation_and_turn(tmp_path, content, message):
    path = tmp_path / "day.yml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SimulationFileError, match=message):
        load_conversations(path)
    with pytest.raises(SimulationFileError, match="does not exist"):
        load_conversations(tmp_path / "missing.yml")
