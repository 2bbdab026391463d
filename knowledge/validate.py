"""`python -m knowledge.validate`: checks the knowledge base and that every entry is reachable."""

from __future__ import annotations

import sys

from core.settings import PROJECT_ROOT, project_path, settings
from knowledge.coverage import check_coverage
from knowledge.errors import KnowledgeBaseError
from knowledge.loader import load_knowledge_base


def main() -> int:
    """Prints a summary, or every problem with its file and entry; exit code 1 on problems."""
    config = settings()["knowledge_base"]
    try:
        kb = load_knowledge_base(project_path(config["path"]))
        check_coverage(
            kb,
            nlu_dir=PROJECT_ROOT / "data" / "nlu",
            rules_dir=PROJECT_ROOT / "data" / "rules",
            domain_path=PROJECT_ROOT / "domain.yml",
        )
        if config["contact_entry"] not in kb:
            raise KnowledgeBaseError([])  # reported below with the setting's name
    except KnowledgeBaseError as error:
        if not error.problems:
            print(
                f"settings.yml knowledge_base.contact_entry '{config['contact_entry']}' "
                "is not a knowledge-base key",
                file=sys.stderr,
            )
        else:
            print(error, file=sys.stderr)
        return 1
    groups = kb.by_category()
    print(f"Knowledge base OK: {len(kb)} entries in {len(groups)} categories")
    for category, entries in groups.items():
        print(f"  {category:<12} {kb.category_names[category]:<8} {len(entries):>3}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
