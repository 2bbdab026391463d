"""Real customer messages are for measuring only: none of their sentences is in the training data."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rasa.shared.nlu.training_data.loading import load_data

from evaluation.real_messages import load_sessions, realise, sessions_path
from knowledge.loader import load_knowledge_base

ROOT = Path(__file__).resolve().parents[2]
# shorter texts ("好的谢谢", "在吗") are everyday phrases anyone would write
MIN_CHARS = 8
_NOT_WORD = re.compile(r"[^0-9a-z\u4e00-\u9fff]")


def folded(text: str) -> str:
    return _NOT_WORD.sub("", text.lower())


@pytest.mark.skipif(not sessions_path().exists(), reason=f"no real sessions at {sessions_path()}")
def test_no_real_customer_sentence_is_a_training_example():
    real = set()
    for session in load_sessions().values():
        for index in session.customer_turns():
            raw = session.turns[index].text
            realised = realise(raw, f"{session.id}/{index}")
            stripped = re.sub(r"\[[^\[\]]{1,6}x\]", "", raw)
            for part in [realised, stripped, *realised.split(), *stripped.split()]:
                key = folded(part)
                if len(key) >= MIN_CHARS:
                    real.add(key)
    training = [m.get("text") for m in load_data(str(ROOT / "data" / "nlu")).intent_examples]
    training += [t for entry in load_knowledge_base(ROOT / "data" / "kb") for t in entry.texts()]
    copied = sorted({t for t in training if folded(t) in real})
    assert not copied, f"real customer sentences in the training data: {copied[:10]}"
