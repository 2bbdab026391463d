"""The shop's NLU at full training on the held-out split, and the measurements behind the thresholds.

Run: `make bench` (all) or `.venv/bin/python -m bench.shop_nlu`.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from rasa.shared.nlu.training_data.loading import load_data

from evaluation.metrics import Scores, score
from evaluation.rasa_nlu import classifier_label, parse_all, train_nlu
from evaluation.split import Example, split_training_data

ROOT = Path(__file__).resolve().parent.parent


UNCLEAR = ROOT / "evaluation" / "unclear_messages.txt"
THRESHOLDS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
AMBIGUITY = [0.0, 0.02, 0.05, 0.1]
# objectives closer than this are one or two messages apart on these sets: a tie
PLATEAU = 0.005
# pipeline variants measured beside config.yml: (what changes, overrides by component)
VARIANTS = [
    ("linear classifier alone (diet_weight 0)", {"LinearIntentClassifier": {"diet_weight": 0.0}}),
    ("DIET on words and character n-grams", {"DIETClassifier": {"featurizers": []}}),
    ("DIET blended at weight 0.5", {"LinearIntentClassifier": {"diet_weight": 0.5}}),
]


def unclear_messages() -> List[str]:
    """Messages that should lead to clarification or an honest "cannot help", never an answer."""
    lines = UNCLEAR.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _top_two(parse: Dict[str, Any]) -> List[float]:
    ranking = [r for r in parse.get("intent_ranking") or [] if r["name"] != "nlu_fallback"]
    confidences = [r["confidence"] for r in ranking[:2]]
    return confidences + [0.0] * (2 - len(confidences))


def _unsure(parse: Dict[str, Any], threshold: float, ambiguity: float) -> bool:
    first, second = _top_two(parse)
    return first < threshold or first - second < ambiguity


def threshold_table(
    held_out: Sequence[Example], parses: Sequence[Dict[str, Any]],
    unclear_parses: Sequence[Dict[str, Any]],
) -> List[Dict[str, float]]:
    """For each (threshold, ambiguity): shares of held-out messages answered right, wrong or
    sent to clarification, the share of unclear messages handled safely (clarified or out of
    scope), and the objective `right - 2*wrong` over both sets (a wrong answer costs more than a question).
    """
    rows = []
    for t in THRESHOLDS:
        for a in AMBIGUITY:
            right = wrong = unsure = 0
            for example, parse in zip(held_out, parses, strict=True):
                if _unsure(parse, t, a):
                    unsure += 1
                elif classifier_label(parse) == example.label:
                    right += 1
                else:
                    wrong += 1
            safe = sum(
                1 for p in unclear_parses if _unsure(p, t, a) or classifier_label(p) == "out_of_scope"
            )
            n, m = len(held_out), len(unclear_parses)
            rows.append(
                {"threshold": t, "ambiguity": a, "right": right / n, "wrong": wrong / n,
                 "clarify": unsure / n, "unclear_safe": safe / m,
                 "objective": (right + safe - 2 * (wrong + m - safe)) / (n + m)}
            )
    return rows


def main() -> Dict[str, Any]:
    """Trains on 80%, scores on the held-out 20%, prints the figures."""
    data = load_data(str(ROOT / "data" / "nlu"))
    train, held_out = split_training_data(data, test_fraction=0.2)
    unclear = unclear_messages()
    run = evaluate(train, held_out, unclear)
    scores, table, gold = run.scores, run.thresholds, [e.label for e in held_out]
    print("== Shop NLU, held-out split (seed 42, 20%), full config.yml ==")
    print(f"train examples {len(train.intent_examples)} (+ knowledge-base questions and paraphrases), "
          f"held-out {scores.n}, labels {len(set(gold))}")
    print(f"training time {run.train_seconds:.1f} s")
    print(f"accuracy {scores.accuracy:.3f}  macro-F1 {scores.macro_f1:.3f}")
    print("worst labels (F1, support):")
    for label, f1, support in scores.worst:
        print(f"  {label:<40} {f1:.2f}  {support}")
    print("most frequent confusions (gold -> predicted, count):")
    for g, p, c in scores.confusions:
        print(f"  {g} -> {p}  {c}")
    print(f"fallback thresholds: held-out messages (right / wrong / clarify) and {len(unclear)} unclear "
          "messages (share clarified or out of scope); objective = right - 2*wrong over both")
    print("  threshold ambiguity  right  wrong  clarify  unclear_safe  objective")
    for row in table:
        print(
            f"  {row['threshold']:>9.2f} {row['ambiguity']:>9.2f}  {row['right']:.3f}  "
            f"{row['wrong']:.3f}  {row['clarify']:.3f}    {row['unclear_safe']:.3f}"
            f"       {row['objective']:.3f}"
        )
    best = choose_thresholds(table)
    print(f"chosen (lowest threshold within {PLATEAU} of the best objective, then the highest ambiguity): "
          f"threshold {best['threshold']}, ambiguity_threshold {best['ambiguity']}")
    variants = compare_variants(train, held_out, unclear)
    return {"scores": scores, "train_seconds": run.train_seconds, "thresholds": table, "best": best,
            "variants": variants}


@dataclass
class Run:
    """One pipeline trained on the split: its held-out scores, threshold sweep and training time."""

    scores: Scores
    thresholds: List[Dict[str, float]]
    train_seconds: float


def evaluate(
    train: Any, held_out: Sequence[Example], unclear: Sequence[str],
    overrides: Optional[Dict[str, Dict[str, Any]]] = None,
) -> Run:
    """Trains config.yml (with `overrides`) through Rasa, parses the held-out and unclear messages."""
    with tempfile.TemporaryDirectory() as work:
        trained = train_nlu(train, Path(work), overrides=overrides)
        parses = parse_all(trained.model_path, [e.text for e in held_out] + list(unclear))
    parses, unclear_parses = parses[: len(held_out)], parses[len(held_out):]
    scores = score([e.label for e in held_out], [classifier_label(p) for p in parses])
    return Run(scores, threshold_table(held_out, parses, unclear_parses), trained.seconds)


def choose_thresholds(table: Sequence[Dict[str, float]]) -> Dict[str, float]:
    """The lowest threshold whose objective is within PLATEAU of the best: as safe, with the
    fewest real questions sent to clarification; ties go to the larger ambiguity margin."""
    top = max(r["objective"] for r in table)
    near = [r for r in table if r["objective"] >= top - PLATEAU]
    return min(near, key=lambda r: (r["threshold"], -r["ambiguity"]))


def compare_variants(train: Any, held_out: Sequence[Example], unclear: Sequence[str]) -> List[Dict[str, Any]]:
    """Held-out accuracy, macro-F1, best threshold objective and training time of each variant in VARIANTS."""
    print("pipeline variants (same split): accuracy  macro-F1  objective at chosen (threshold, ambiguity)"
          "  training s")
    rows = []
    for name, overrides in VARIANTS:
        run = evaluate(train, held_out, unclear, overrides)
        best = choose_thresholds(run.thresholds)
        rows.append({"variant": name, "accuracy": run.scores.accuracy, "macro_f1": run.scores.macro_f1,
                     "best": best, "train_seconds": run.train_seconds})
        print(f"  {name:<45} {run.scores.accuracy:.3f}     {run.scores.macro_f1:.3f}     "
              f"{best['objective']:.3f} ({best['threshold']}, {best['ambiguity']})          "
              f"{run.train_seconds:.1f}")
    return rows


if __name__ == "__main__":
    main()
