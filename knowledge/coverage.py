"""Checks that every entry can be reached: an intent, examples, a rule, and domain entities.

These checks join the knowledge base to the Rasa project around it
(`data/nlu`, `data/rules`, `domain.yml`), so they live apart from the loader.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Iterable, List

import yaml

from knowledge.entry import KnowledgeBase
from knowledge.errors import KnowledgeBaseError, Problem

FAQ_INTENT = "faq"
ANSWER_ACTION = "action_answer_faq"
MIN_EXAMPLES = 8


def _rule_answers_faq(rule_files: Iterable[Path]) -> bool:
    for file in rule_files:
        content = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        for rule in content.get("rules") or []:
            steps = rule.get("steps") or []
            for step, following in zip(steps, steps[1:], strict=False):
                if step.get("intent") == FAQ_INTENT and following.get("action") == ANSWER_ACTION:
                    return True
    return False


def check_coverage(
    kb: KnowledgeBase,
    nlu_dir: Path,
    rules_dir: Path,
    domain_path: Path,
    min_examples: int = MIN_EXAMPLES,
) -> None:
    """Raises KnowledgeBaseError naming every entry that no intent or rule can reach."""
    from rasa.shared.core.domain import Domain
    from rasa.shared.nlu.training_data.loading import load_data

    problems: List[Problem] = []
    training_data = load_data(str(nlu_dir))
    examples = Counter(
        m.get("intent_response_key")
        for m in training_data.intent_examples
        if m.get("intent_response_key")
    )
    domain = Domain.load(str(domain_path))

    if FAQ_INTENT not in domain.intents:
        problems.append(Problem(domain_path, f"intent '{FAQ_INTENT}' is not listed in 'intents'"))
    if not _rule_answers_faq(sorted(Path(rules_dir).glob("*.yml"))):
        problems.append(
            Problem(
                Path(rules_dir),
                f"no rule maps intent '{FAQ_INTENT}' to '{ANSWER_ACTION}': no entry can be answered",
            )
        )
    for entry in kb:
        intent = f"{FAQ_INTENT}/{entry.key}"
        count = examples.get(intent, 0)
        if count < min_examples:
            problems.append(
                Problem(
                    entry.source,
                    f"unreachable: intent '{intent}' has {count} training example(s) in "
                    f"{nlu_dir}/ (needs {min_examples}); add them to "
                    f"{nlu_dir}/faq_{entry.category}.yml",
                    entry.key,
                )
            )
        for variant in entry.variants:
            for entity in variant.when:
                if entity not in domain.entities:
                    problems.append(
                        Problem(
                            entry.source,
                            f"variant uses entity '{entity}', which {domain_path} does not declare",
                            entry.key,
                        )
                    )
    for intent in sorted(set(examples) - {f"{FAQ_INTENT}/{e.key}" for e in kb}):
        problems.append(
            Problem(
                Path(nlu_dir),
                f"intent '{intent}' has no knowledge-base entry with key "
                f"'{intent.split('/', 1)[1]}': its questions could never be answered",
            )
        )
    if problems:
        raise KnowledgeBaseError(problems)
