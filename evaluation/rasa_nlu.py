"""Trains a real Rasa NLU model from in-memory training data and parses texts with it."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu_components.open_set_gate import SET_BY

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def quiet_rasa_logs() -> None:
    """Rasa logs every parse at debug level through structlog; measurements want warnings only."""
    import logging

    from rasa.utils.log_utils import configure_structlog

    logging.getLogger("rasa").setLevel(logging.WARNING)
    configure_structlog(logging.WARNING)


@dataclass
class TrainedNlu:
    """A trained model's path and how long training took."""

    model_path: Path
    seconds: float


def write_config(
    base_config: Path, out: Path, overrides: Optional[Dict[str, Dict[str, Any]]],
    knowledge_base: bool = True,
) -> Path:
    """A copy of `config.yml` with some components' settings changed (e.g. fewer DIET epochs).

    `knowledge_base=False` drops the importer that adds the shop's knowledge-base
    paraphrases, for training on other data (SMP2017).
    """
    import yaml

    config = yaml.safe_load(base_config.read_text(encoding="utf-8"))
    if not knowledge_base:
        config["importers"] = [
            i for i in config.get("importers") or [] if not i["name"].endswith("KnowledgeBaseImporter")
        ]
    for component in config["pipeline"]:
        short_name = component["name"].rsplit(".", 1)[-1]
        component.update((overrides or {}).get(short_name, {}))
    out.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return out


def train_nlu(
    data: TrainingData,
    work_dir: Path,
    config: Path = PROJECT_ROOT / "config.yml",
    overrides: Optional[Dict[str, Dict[str, Any]]] = None,
    knowledge_base: bool = True,
) -> TrainedNlu:
    """Writes the data as Rasa YAML and runs Rasa's own NLU training on it."""
    from rasa.model_training import train_nlu as rasa_train_nlu

    work_dir.mkdir(parents=True, exist_ok=True)
    nlu_file = work_dir / "nlu.yml"
    nlu_file.write_text(data.nlu_as_yaml(), encoding="utf-8")
    config_file = write_config(config, work_dir / "config.yml", overrides, knowledge_base)
    quiet_rasa_logs()
    started = time.perf_counter()
    model = rasa_train_nlu(
        config=str(config_file),
        nlu_data=str(nlu_file),
        output=str(work_dir),
        fixed_model_name="nlu",
        domain=str(PROJECT_ROOT / "domain.yml"),
    )
    return TrainedNlu(Path(model), time.perf_counter() - started)


def parse_all(model_path: Path, texts: Sequence[str]) -> List[Dict[str, Any]]:
    """Rasa's parse result for each text, from the model loaded as the server loads it."""
    from rasa.core.agent import Agent

    quiet_rasa_logs()
    agent = Agent.load(str(model_path))

    async def parse() -> List[Dict[str, Any]]:
        return [await agent.parse_message(text) for text in texts]

    return asyncio.run(parse())


def predicted_label(parse: Dict[str, Any]) -> str:
    """`faq/<key>` for FAQ answers, the intent otherwise (`nlu_fallback` when unsure)."""
    intent = (parse.get("intent") or {}).get("name")
    if intent == "faq":
        selector = (parse.get("response_selector") or {}).get("faq") or {}
        return (selector.get("response") or {}).get("intent_response_key") or intent
    return intent


def classifier_label(parse: Dict[str, Any]) -> str:
    """The classifier's own best label, before FallbackClassifier replaced it with `nlu_fallback` and
    before the open-set gate routed it by the message's wording."""
    for item in parse.get("intent_ranking") or []:
        if item.get("name") != "nlu_fallback" and not item.get(SET_BY):
            return item.get("intent_response_key") or item["name"]
    return predicted_label(parse)
