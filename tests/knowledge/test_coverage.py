"""Entries that no intent or rule can reach are reported with their file and entry."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from knowledge import KnowledgeBaseError, load_knowledge_base
from knowledge.coverage import check_coverage

ROOT = Path(__file__).resolve().parents[2]

KB = """
category: refund
name: 退款
entries:
  - key: refund_time
    question: 退款多久到账？
    paraphrases: [退款几天到账, 钱什么时候退回来, 退的钱啥时候到]
    answer: 原路退回。
    variants:
      - when: [order_number]
        answer: 订单 {order_number} 原路退回。
  - key: refund_orphan
    question: 退款能退到别的卡吗？
    paraphrases: [退到别的卡, 换张卡退款, 退到支付宝行吗]
    answer: 只能原路退回。
"""


def nlu(intents: dict) -> str:
    parts = ['version: "3.1"', "nlu:"]
    for intent, count in intents.items():
        parts.append(f"- intent: {intent}\n  examples: |")
        parts.extend(f"    - 例句{intent}{i}" for i in range(count))
    return "\n".join(parts) + "\n"


@pytest.fixture
def project(tmp_path):
    (tmp_path / "kb").mkdir()
    (tmp_path / "nlu").mkdir()
    (tmp_path / "rules").mkdir()
    (tmp_path / "kb" / "refund.yml").write_text(textwrap.dedent(KB), encoding="utf-8")
    shutil.copy(ROOT / "data" / "rules" / "faq.yml", tmp_path / "rules" / "faq.yml")
    shutil.copy(ROOT / "domain.yml", tmp_path / "domain.yml")
    return tmp_path


def check(project: Path) -> list[str]:
    kb = load_knowledge_base(project / "kb")
    with pytest.raises(KnowledgeBaseError) as raised:
        check_coverage(kb, project / "nlu", project / "rules", project / "domain.yml")
    return [str(p) for p in raised.value.problems]


def test_entry_without_intent_is_unreachable(project):
    (project / "nlu" / "faq.yml").write_text(nlu({"faq/refund_time": 8}), encoding="utf-8")
    [problem] = check(project)
    assert "refund.yml" in problem and "'refund_orphan'" in problem
    assert "unreachable" in problem and "faq_refund.yml" in problem


def test_entry_with_too_few_examples_is_unreachable(project):
    (project / "nlu" / "faq.yml").write_text(
        nlu({"faq/refund_time": 8, "faq/refund_orphan": 3}), encoding="utf-8"
    )
    [problem] = check(project)
    assert "'refund_orphan'" in problem and "has 3 training example(s)" in problem


def test_intent_without_entry_is_reported(project):
    (project / "nlu" / "faq.yml").write_text(
        nlu({"faq/refund_time": 8, "faq/refund_orphan": 8, "faq/ghost": 8}), encoding="utf-8"
    )
    [problem] = check(project)
    assert "'faq/ghost'" in problem and "no knowledge-base entry" in problem


def test_missing_rule_makes_everything_unreachable(project):
    (project / "nlu" / "faq.yml").write_text(
        nlu({"faq/refund_time": 8, "faq/refund_orphan": 8}), encoding="utf-8"
    )
    (project / "rules" / "faq.yml").write_text('version: "3.1"\nrules: []\n', encoding="utf-8")
    [problem] = check(project)
    assert "no rule maps intent 'faq' to 'action_answer_faq'" in problem


def test_variant_entity_must_be_in_domain(project):
    (project / "nlu" / "faq.yml").write_text(
        nlu({"faq/refund_time": 8, "faq/refund_orphan": 8}), encoding="utf-8"
    )
    domain = (project / "domain.yml").read_text(encoding="utf-8")
    (project / "domain.yml").write_text(domain.replace("  - order_number\n", "", 1), encoding="utf-8")
    found = check(project)
    assert any("'refund_time'" in p and "entity 'order_number'" in p for p in found)


def test_a_complete_project_passes(project):
    (project / "nlu" / "faq.yml").write_text(
        nlu({"faq/refund_time": 8, "faq/refund_orphan": 8}), encoding="utf-8"
    )
    kb = load_knowledge_base(project / "kb")
    check_coverage(kb, project / "nlu", project / "rules", project / "domain.yml")
