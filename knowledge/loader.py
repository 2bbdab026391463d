"""Reads `data/kb/*.yml` into a KnowledgeBase, checking every file and entry.

All problems are collected and reported together, each with its file and entry,
so one run of `make validate` lists everything there is to fix.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

from core.yaml_files import read_yaml
from knowledge.entry import AnswerVariant, FaqEntry, KnowledgeBase
from knowledge.errors import KnowledgeBaseError, Problem

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
MIN_PARAPHRASES = 3
ENTRY_FIELDS = {"key", "question", "paraphrases", "answer", "variants", "follow_ups"}


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _parse_variants(
    raw: Any, path: Path, key: str, problems: List[Problem]
) -> Tuple[AnswerVariant, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.append(Problem(path, "'variants' must be a list", key))
        return ()
    variants = []
    for index, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            problems.append(Problem(path, f"variant {index} must be a mapping", key))
            continue
        when = item.get("when")
        answer = _text(item.get("answer"))
        if isinstance(when, str):
            when = [when]
        if not when or not all(isinstance(w, str) and w for w in when):
            problems.append(
                Problem(path, f"variant {index} needs 'when': a list of entity names", key)
            )
            continue
        if not answer:
            problems.append(Problem(path, f"variant {index} has an empty answer", key))
            continue
        variant = AnswerVariant(tuple(when), answer)
        try:
            unknown = sorted(set(variant.placeholders()) - set(variant.when))
        except ValueError as error:
            problems.append(
                Problem(path, f"variant {index} answer has a broken placeholder: {error}", key)
            )
            continue
        if unknown:
            problems.append(
                Problem(
                    path,
                    f"variant {index} uses {{{', '.join(unknown)}}} but 'when' lists only "
                    f"{list(variant.when)}",
                    key,
                )
            )
            continue
        variants.append(variant)
    return tuple(variants)


def _parse_entry(
    raw: Any, path: Path, category: str, index: int, problems: List[Problem]
) -> Optional[FaqEntry]:
    if not isinstance(raw, dict):
        problems.append(Problem(path, f"entry {index} must be a mapping"))
        return None
    key = raw.get("key")
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        problems.append(
            Problem(
                path,
                f"entry {index} needs a 'key' of lowercase ASCII letters, digits and "
                f"underscores (got {key!r})",
            )
        )
        return None
    before = len(problems)
    unknown_fields = sorted(set(raw) - ENTRY_FIELDS)
    if unknown_fields:
        problems.append(Problem(path, f"unknown field(s) {unknown_fields}", key))
    question = _text(raw.get("question"))
    if not question:
        problems.append(Problem(path, "'question' is missing or empty", key))
    answer = _text(raw.get("answer"))
    if not answer:
        problems.append(Problem(path, "'answer' is missing or empty", key))
    paraphrases_raw = raw.get("paraphrases") or []
    if not isinstance(paraphrases_raw, list):
        problems.append(Problem(path, "'paraphrases' must be a list", key))
        paraphrases_raw = []
    paraphrases = tuple(dict.fromkeys(p for p in map(_text, paraphrases_raw) if p))
    if len(paraphrases) < MIN_PARAPHRASES:
        problems.append(
            Problem(
                path,
                f"needs at least {MIN_PARAPHRASES} different paraphrases "
                f"(has {len(paraphrases)})",
                key,
            )
        )
    follow_ups = raw.get("follow_ups") or []
    if not isinstance(follow_ups, list) or not all(isinstance(f, str) for f in follow_ups):
        problems.append(Problem(path, "'follow_ups' must be a list of keys", key))
        follow_ups = []
    variants = _parse_variants(raw.get("variants"), path, key, problems)
    if len(problems) > before:
        return None
    return FaqEntry(
        key=key,
        category=category,
        question=question,
        paraphrases=paraphrases,
        answer=answer,
        variants=variants,
        follow_ups=tuple(follow_ups),
        source=path,
    )


def _read_file(path: Path, problems: List[Problem]) -> Optional[Dict[str, Any]]:
    content, unreadable = read_yaml(path)
    if unreadable:
        problems.append(Problem(path, unreadable))
        return None
    if not isinstance(content, dict) or not isinstance(content.get("entries"), list):
        problems.append(
            Problem(path, "must be a mapping with 'category', 'name' and a list 'entries'")
        )
        return None
    category = content.get("category")
    if category != path.stem:
        problems.append(
            Problem(path, f"'category' must equal the file name '{path.stem}' (got {category!r})")
        )
        return None
    return content


def load_knowledge_base(path: Union[str, Path]) -> KnowledgeBase:
    """Loads every `*.yml` under `path`; raises KnowledgeBaseError listing all problems."""
    root = Path(path)
    problems: List[Problem] = []
    files = sorted(root.glob("*.yml")) if root.is_dir() else []
    if not files:
        raise KnowledgeBaseError(
            [Problem(root, "no knowledge-base files (*.yml) found; check settings.yml 'knowledge_base.path'")]
        )
    kb = KnowledgeBase()
    seen: Dict[str, Path] = {}
    for file in files:
        content = _read_file(file, problems)
        if content is None:
            continue
        kb.category_names[file.stem] = _text(content.get("name")) or file.stem
        for index, raw in enumerate(content["entries"], start=1):
            entry = _parse_entry(raw, file, file.stem, index, problems)
            if entry is None:
                continue
            if entry.key in seen:
                problems.append(
                    Problem(file, f"duplicate key, first defined in {seen[entry.key]}", entry.key)
                )
                continue
            seen[entry.key] = file
            kb.entries[entry.key] = entry
    for entry in kb:
        for follow_up in entry.follow_ups:
            if follow_up == entry.key:
                problems.append(Problem(entry.source, "lists itself in 'follow_ups'", entry.key))
            elif follow_up not in kb:
                problems.append(
                    Problem(entry.source, f"follow-up '{follow_up}' is not a known key", entry.key)
                )
    if problems:
        raise KnowledgeBaseError(problems)
    return kb
