"""Loading the knowledge base, and every way a file can be wrong."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from knowledge import KnowledgeBaseError, load_knowledge_base

GOOD_ENTRY = """
  - key: {key}
    question: 退款多久到账？
    paraphrases: [退款几天到账, 钱什么时候退回来, 退的钱啥时候到]
    answer: 原路退回，1-3 个工作日到账。
"""


def write(folder: Path, name: str, body: str) -> Path:
    path = folder / f"{name}.yml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def kb_file(folder: Path, name: str, entries: str) -> Path:
    return write(folder, name, f"category: {name}\nname: 测试\nentries:{entries}")


def problems_of(folder: Path) -> list[str]:
    with pytest.raises(KnowledgeBaseError) as raised:
        load_knowledge_base(folder)
    return [str(p) for p in raised.value.problems]


def test_a_good_file_loads(tmp_path):
    kb_file(tmp_path, "refund", GOOD_ENTRY.format(key="refund_time"))
    kb = load_knowledge_base(tmp_path)
    entry = kb.get("refund_time")
    assert entry.category == "refund"
    assert entry.question == "退款多久到账？"
    assert len(entry.paraphrases) == 3
    assert kb.category_names == {"refund": "测试"}


def test_duplicate_keys_across_files_name_both_files(tmp_path):
    kb_file(tmp_path, "a", GOOD_ENTRY.format(key="same_key"))
    kb_file(tmp_path, "b", GOOD_ENTRY.format(key="same_key"))
    [problem] = problems_of(tmp_path)
    assert "b.yml" in problem and "a.yml" in problem
    assert "'same_key'" in problem and "duplicate key" in problem


def test_empty_answer_names_file_and_entry(tmp_path):
    kb_file(
        tmp_path,
        "refund",
        """
  - key: refund_empty
    question: 退款多久到账？
    paraphrases: [一, 二, 三]
    answer: "   "
""",
    )
    [problem] = problems_of(tmp_path)
    assert "refund.yml" in problem and "'refund_empty'" in problem and "'answer'" in problem


def test_missing_question_and_too_few_paraphrases_are_both_reported(tmp_path):
    kb_file(
        tmp_path,
        "refund",
        """
  - key: refund_bad
    paraphrases: [一, 一, 二]
    answer: 好的
""",
    )
    found = problems_of(tmp_path)
    assert any("'question'" in p for p in found)
    assert any("at least 3 different paraphrases (has 2)" in p for p in found)


def test_malformed_yaml_names_the_file(tmp_path):
    write(tmp_path, "broken", "category: broken\nentries:\n  - key: [unclosed\n")
    [problem] = problems_of(tmp_path)
    assert "broken.yml" in problem and "not valid YAML" in problem


def test_a_file_without_entries_is_rejected(tmp_path):
    write(tmp_path, "refund", "category: refund\nname: 退款\n")
    [problem] = problems_of(tmp_path)
    assert "refund.yml" in problem and "'entries'" in problem


def test_category_must_match_file_name(tmp_path):
    write(tmp_path, "refund", "category: returns\nentries:" + GOOD_ENTRY.format(key="k1"))
    [problem] = problems_of(tmp_path)
    assert "'category' must equal the file name 'refund'" in problem


@pytest.mark.parametrize("key", ["Refund", "退款", "1refund", "refund-time", None])
def test_keys_must_be_lowercase_ascii(tmp_path, key):
    kb_file(tmp_path, "refund", GOOD_ENTRY.format(key=key if key is not None else "''"))
    [problem] = problems_of(tmp_path)
    assert "entry 1 needs a 'key'" in problem


def test_unknown_follow_up_and_self_reference(tmp_path):
    kb_file(
        tmp_path,
        "refund",
        GOOD_ENTRY.format(key="refund_a").rstrip() + "\n    follow_ups: [refund_a, nowhere]\n",
    )
    found = problems_of(tmp_path)
    assert any("lists itself" in p for p in found)
    assert any("follow-up 'nowhere' is not a known key" in p for p in found)


def test_variant_placeholder_must_be_in_when(tmp_path):
    kb_file(
        tmp_path,
        "order",
        GOOD_ENTRY.format(key="order_status").rstrip()
        + """
    variants:
      - when: [order_number]
        answer: 订单 {order_number} 的手机号 {phone_number}
""",
    )
    [problem] = problems_of(tmp_path)
    assert "'order_status'" in problem and "{phone_number}" in problem


def test_unknown_fields_are_reported(tmp_path):
    kb_file(tmp_path, "refund", GOOD_ENTRY.format(key="refund_x").rstrip() + "\n    anser: 拼错了\n")
    [problem] = problems_of(tmp_path)
    assert "unknown field(s) ['anser']" in problem


def test_every_problem_is_reported_at_once(tmp_path):
    kb_file(tmp_path, "a", GOOD_ENTRY.format(key="dup"))
    kb_file(tmp_path, "b", GOOD_ENTRY.format(key="dup"))
    write(tmp_path, "c", "category: c\nentries: [oops")
    assert len(problems_of(tmp_path)) == 2


def test_empty_folder_says_which_setting(tmp_path):
    [problem] = problems_of(tmp_path)
    assert "knowledge_base.path" in problem


def test_answer_variant_fills_entities_and_falls_back(tmp_path):
    kb_file(
        tmp_path,
        "order",
        GOOD_ENTRY.format(key="order_status").rstrip()
        + """
    variants:
      - when: [order_number]
        answer: 订单 {order_number} 已发货
""",
    )
    entry = load_knowledge_base(tmp_path).get("order_status")
    assert entry.answer_for({"order_number": "2024061812345678"}) == "订单 2024061812345678 已发货"
    assert entry.answer_for({}) == entry.answer
    assert entry.answer_for({"order_number": ""}) == entry.answer
