"""The shop's own knowledge base meets the product's contract."""

from __future__ import annotations

from pathlib import Path

from core.settings import settings
from knowledge import load_knowledge_base
from knowledge.coverage import check_coverage

ROOT = Path(__file__).resolve().parents[2]
REQUIRED_CATEGORIES = {
    "order", "shipping", "returns", "refund", "payment", "invoice",
    "account", "promotion", "warranty", "membership", "shop",
}


def test_the_shop_knowledge_base_loads_and_is_reachable():
    kb = load_knowledge_base(ROOT / "data" / "kb")
    check_coverage(kb, ROOT / "data" / "nlu", ROOT / "data" / "rules", ROOT / "domain.yml")
    assert len(kb) >= 120
    assert REQUIRED_CATEGORIES <= set(kb.by_category())
    assert settings()["knowledge_base"]["contact_entry"] in kb


def test_every_entry_has_paraphrases_and_a_real_answer():
    kb = load_knowledge_base(ROOT / "data" / "kb")
    for entry in kb:
        assert len(set(entry.paraphrases)) >= 3, entry.key
        assert len(entry.answer) >= 20, f"{entry.key}: answer too short to help anyone"
        assert entry.key.startswith(entry.category), entry.key


def test_the_contact_entry_gives_the_hotline_and_hours():
    kb = load_knowledge_base(ROOT / "data" / "kb")
    contact = kb.get(settings()["knowledge_base"]["contact_entry"]).answer
    assert "400-820-6688" in contact
    assert "9:00" in contact or "09:00" in contact
