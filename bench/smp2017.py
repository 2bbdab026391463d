"""The shop's pipeline on SMP2017-ECDT task 1 (31 intents), beside a TF-IDF + LinearSVC baseline.

Trains on the official train split only and scores on test; nothing is tuned on test.
Run: `make bench` (all) or `.venv/bin/python -m bench.smp2017`.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from evaluation.metrics import score
from evaluation.rasa_nlu import classifier_label, parse_all, train_nlu

ROOT = Path(__file__).resolve().parent.parent
DATASET = ROOT.parent / "shared" / "datasets" / "smp2017_ecdt_task1"


def read_split(name: str) -> List[Tuple[str, str]]:
    """(text, label) pairs of one official split."""
    path = DATASET / f"{name}.jsonl"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: the SMP2017 data set lives in ../shared/datasets/")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(row["text"], row["label"]) for row in rows]


def baseline(train: List[Tuple[str, str]], test: List[Tuple[str, str]]) -> Dict[str, Any]:
    """TF-IDF over characters 1-3 and jieba words, LinearSVC: the plain linear reference."""
    import jieba
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_union
    from sklearn.svm import LinearSVC

    def words(text: str) -> List[str]:
        return [w for w in jieba.lcut(text) if w.strip()]

    started = time.perf_counter()
    features = make_union(
        TfidfVectorizer(analyzer="char", ngram_range=(1, 3)), TfidfVectorizer(analyzer=words)
    )
    model = LinearSVC().fit(features.fit_transform([t for t, _ in train]), [y for _, y in train])
    seconds = time.perf_counter() - started
    predicted = model.predict(features.transform([t for t, _ in test]))
    return {"scores": score([y for _, y in test], list(predicted)), "seconds": seconds}


def rasa_pipeline(
    train: List[Tuple[str, str]], test: List[Tuple[str, str]],
    overrides: Optional[Dict[str, Dict[str, Any]]] = None,
) -> Dict[str, Any]:
    """The project's config.yml trained through Rasa on the SMP train split."""
    data = TrainingData([Message.build(text=t, intent=y) for t, y in train])
    with tempfile.TemporaryDirectory() as work:
        trained = train_nlu(data, Path(work), overrides=overrides, knowledge_base=False)
        parses = parse_all(trained.model_path, [t for t, _ in test])
    predicted = [classifier_label(p) for p in parses]
    return {"scores": score([y for _, y in test], predicted), "seconds": trained.seconds}


def main() -> Dict[str, Any]:
    """Prints both systems' accuracy, macro-F1 and training time."""
    train, test = read_split("train"), read_split("test")
    results = {
        "baseline TF-IDF + LinearSVC": baseline(train, test),
        "config.yml (DIET + linear blend)": rasa_pipeline(train, test),
        "config.yml, linear only (diet_weight 0)": rasa_pipeline(
            train, test, {"LinearIntentClassifier": {"diet_weight": 0.0}}
        ),
    }
    print(f"== SMP2017-ECDT task 1: train {len(train)}, test {len(test)} ==")
    print(f"  {'system':<42} {'accuracy':>8} {'macro-F1':>8} {'train s':>8}")
    for name, result in results.items():
        s = result["scores"]
        print(f"  {name:<42} {s.accuracy:>8.3f} {s.macro_f1:>8.3f} {result['seconds']:>8.1f}")
    return results


if __name__ == "__main__":
    main()
