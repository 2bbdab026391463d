"""Training-data importer: each knowledge-base entry's question and paraphrases as `faq/<key>` examples.

Listed in config.yml beside Rasa's file importer, so `rasa train`, `rasa test`
and `rasa data validate` see them. The entry's customer-style wordings then
train the classifier too, and a new entry needs fewer hand-written NLU examples.
"""

from __future__ import annotations

from typing import Dict, List, Optional

import yaml
from rasa.shared.core.domain import Domain
from rasa.shared.core.training_data.structures import StoryGraph
from rasa.shared.importers.importer import TrainingDataImporter
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
from rasa.shared.nlu.training_data.training_data import TrainingData

from core.settings import project_path, settings
from knowledge import load_knowledge_base
from knowledge.entry import KnowledgeBase


def knowledge_base_nlu_yaml(kb: KnowledgeBase, intent: str = "faq") -> str:
    """Rasa NLU YAML with one retrieval intent per entry, its question and paraphrases as examples."""
    blocks: List[Dict[str, str]] = []
    for entry in kb:
        # brackets would read as entity annotations in Rasa's markup
        texts = [t.replace("[", "【").replace("]", "】") for t in dict.fromkeys(entry.texts())]
        blocks.append(
            {"intent": f"{intent}/{entry.key}", "examples": "".join(f"- {t}\n" for t in texts)}
        )
    return yaml.safe_dump({"version": "3.1", "nlu": blocks}, allow_unicode=True, sort_keys=False)


class KnowledgeBaseImporter(TrainingDataImporter):
    """Adds NLU examples from the knowledge base; contributes nothing else."""

    def __init__(
        self,
        config_file: Optional[str] = None,
        domain_path: Optional[str] = None,
        training_data_paths: Optional[List[str]] = None,
        knowledge_base: Optional[str] = None,
    ) -> None:
        self._path = project_path(knowledge_base or settings()["knowledge_base"]["path"])

    def get_nlu_data(self, language: Optional[str] = "en") -> TrainingData:
        """The knowledge base as training data (raises KnowledgeBaseError naming file and entry)."""
        kb = load_knowledge_base(self._path)
        return RasaYAMLReader().reads(knowledge_base_nlu_yaml(kb))

    def get_domain(self) -> Domain:
        return Domain.empty()

    def get_stories(self, exclusion_percentage: Optional[int] = None) -> StoryGraph:
        return StoryGraph([])

    def get_conversation_tests(self) -> StoryGraph:
        return StoryGraph([])

    def get_config(self) -> Dict:
        return {}

    def get_config_file_for_auto_config(self) -> Optional[str]:
        return None
