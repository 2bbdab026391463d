"""The shop's NLU at full training on the held-out split, and the measurements behind the thresholds.

Run: `make bench` (all) or `.venv/bin/python -m bench.shop_nlu`.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

from evaluation.metrics import Scores, score
from evaluation.rasa_nlu import classifier_label, parse_all, train_nlu
from evaluation.real_messages import LabelledMessage, load_sets
from evaluation.real_readings import calibration_table, reading_is_right
from evaluation.split import Example, split_project_data
from nlu_components.open_set_gate import SET_BY, OpenSetGate

ROOT = Path(__file__).resolve().parent.parent


UNCLEAR = ROOT / "evaluation" / "unclear_messages.txt"
# the FallbackClassifier's threshold, for every reading
THRESHOLDS = [0.3, 0.4, 0.5, 0.6]
AMBIGUITY = [0.0, 0.1]
# OpenSetGate: the confidence a reading that acts (an answer, a person) needs, and its lowest similarity
# to the closest training example of its label (LinearIntentClassifier's intent_support)
STRICT = [0.6, 0.7, 0.8, 0.9, 0.95]
MARGIN = [0.0, 0.3, 0.6]
SUPPORT = [0.0, 0.3]
# the readings the gate holds to the strict threshold, as it ships
GATE = OpenSetGate(OpenSetGate.get_default_config())
# objectives closer than this are a few messages apart on these sets: a tie
PLATEAU = 0.005
# what a wrong reading that acts (an answer, a person) costs against a right one: the product's goals
# (at most 3% confident wrong answers for at least 85% right) value one avoided wrong answer above
# several questions back; a wrong chit-chat reading or a route that asks first costs one
ACTING_WRONG_COST = 3.0
CALIBRATION_EDGES = [0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0]
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


@dataclass(frozen=True)
class Case:
    """One message of a threshold set: its parse, whether a label is right, whether "unsure" is right."""

    parse: Dict[str, Any]
    right: Callable[[str], bool]
    unsure_ok: bool


def _top_two(parse: Dict[str, Any]) -> List[float]:
    # the classifier's own readings: not the FallbackClassifier's, not one the gate routed by wording
    ranking = [r for r in parse.get("intent_ranking") or [] if r["name"] != "nlu_fallback" and not r.get(SET_BY)]
    confidences = [r["confidence"] for r in ranking[:2]]
    return confidences + [0.0] * (2 - len(confidences))


def support(parse: Dict[str, Any]) -> float:
    """Similarity to the closest training example of the label read; 1 when the gate settled the reading."""
    label = classifier_label(parse)
    found = parse.get("intent_support") or {}
    if (parse.get("intent") or {}).get("name") == "card" or found.get("label") != label:
        return 1.0
    return float(found.get("similarity", 1.0))


def is_strict(label: str) -> bool:
    """Whether a reading with this label acts (an answer, a person)."""
    return GATE.is_strict(label)


def unsure(parse: Dict[str, Any], threshold: float, ambiguity: float, strict: float, margin: float,
           min_support: float) -> bool:
    """Whether the pipeline would ask instead of acting on its reading (as FallbackClassifier and
    OpenSetGate decide)."""
    first, second = _top_two(parse)
    if (parse.get("intent") or {}).get("name") == "card":
        return False
    if first < threshold or first - second < ambiguity:
        return True
    return is_strict(classifier_label(parse)) and (
        first < strict or first - second < margin or support(parse) < min_support)


def case_outcome(case: Case, threshold: float, ambiguity: float, strict: float, margin: float,
                 min_support: float) -> str:
    """right, unsure (right when asking is right for this message), or wrong: `strict` when the wrong
    reading acts (an answer, a person), `lenient` when it is chit-chat or a route that asks first."""
    if unsure(case.parse, threshold, ambiguity, strict, margin, min_support):
        return "right" if case.unsure_ok else "unsure"
    label = classifier_label(case.parse)
    if case.right(label):
        return "right"
    return "strict" if is_strict(label) else "lenient"


def threshold_table(sets: Dict[str, Sequence[Case]]) -> List[Dict[str, float]]:
    """For each (threshold, ambiguity, strict threshold, support): each set's shares right, wrong and unsure,
    and the objective: the mean over the sets of right - ACTING_WRONG_COST * wrong answers or escalations -
    wrong chit-chat or routes (a wrong answer costs more than a question, a wrong "好的" less)."""
    rows = []
    for t, a, f, g, m in product(THRESHOLDS, AMBIGUITY, STRICT, MARGIN, SUPPORT):
        if f < t:
            continue
        row: Dict[str, float] = {"threshold": t, "ambiguity": a, "strict": f, "margin": g, "support": m}
        objectives = []
        for name, cases in sets.items():
            outcomes = [case_outcome(c, t, a, f, g, m) for c in cases]
            n = len(outcomes) or 1
            for kind in ("right", "strict", "lenient", "unsure"):
                row[f"{name}_{kind}"] = outcomes.count(kind) / n
            row[f"{name}_wrong"] = row[f"{name}_strict"] + row[f"{name}_lenient"]
            objectives.append(row[f"{name}_right"] - ACTING_WRONG_COST * row[f"{name}_strict"] - row[f"{name}_lenient"])
        row["objective"] = sum(objectives) / len(objectives)
        rows.append(row)
    return rows


def calibration(cases: Sequence[Case]) -> List[Dict[str, Any]]:
    """Confidence of the best reading against how often it is right."""
    confidences = [_top_two(c.parse)[0] for c in cases]
    right = [c.right(classifier_label(c.parse)) for c in cases]
    return calibration_table(confidences, right, CALIBRATION_EDGES)


def _share(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.2f}"


def main() -> Dict[str, Any]:
    """Trains on 80%, scores on the held-out 20% and on real messages, prints the figures."""
    split = split_project_data(ROOT / "data" / "nlu", test_fraction=0.2)
    train, held_out = split.train, split.paraphrases
    unclear = unclear_messages()
    real_dev, real_held_out = load_sets()
    run = evaluate(train, held_out, unclear, real_dev, real_held_out, real_style=split.real_style)
    scores, table, gold = run.scores, run.thresholds, [e.label for e in held_out]
    print("== Shop NLU, held-out split (seed 42, 20%), full config.yml ==")
    print(f"train examples {len(train.intent_examples)} (+ knowledge-base questions and paraphrases), "
          f"held-out paraphrases {scores.n} ({len(set(gold))} labels), held-out real-style examples "
          f"{run.real_style.n}")
    print(f"training time {run.train_seconds:.1f} s")
    print(f"paraphrase split (the project's own, as measured before): accuracy {scores.accuracy:.3f}  "
          f"macro-F1 {scores.macro_f1:.3f}")
    print(f"real-style examples held out (data/nlu/real_*.yml): accuracy {run.real_style.accuracy:.3f}  "
          f"macro-F1 {run.real_style.macro_f1:.3f}")
    print("worst labels (F1, support):")
    for label, f1, support_ in scores.worst:
        print(f"  {label:<40} {f1:.2f}  {support_}")
    print("most frequent confusions (gold -> predicted, count):")
    for g, p, c in scores.confusions:
        print(f"  {g} -> {p}  {c}")
    for title, rows in run.calibration.items():
        print(f"calibration, {title}: confidence of the best reading -> share right (n)")
        print("  " + "  ".join(
            f"[{r['low']:.2f},{r['high']:.2f}) {_share(r['accuracy'])} ({r['n']})"
            for r in rows))
    print("thresholds (FallbackClassifier threshold and ambiguity; OpenSetGate strict_threshold, strict_margin "
          f"and min_support), on a mix of in-domain held-out ({len(held_out)}), unclear ({len(unclear)}) and real "
          f"development messages ({len(real_dev)}); objective = mean over the three of right - "
          f"{ACTING_WRONG_COST:g} * wrong answers or escalations - wrong others; best 12:")
    print("  threshold ambiguity strict margin support  in:right wrong  unclear:right wrong  real:right "
          "wrong(acting)  objective")
    for row in sorted(table, key=lambda r: -r["objective"])[:12]:
        print(
            f"  {row['threshold']:>9.2f} {row['ambiguity']:>9.2f} {row['strict']:>6.2f} {row['margin']:>6.2f} "
            f"{row['support']:>7.2f}  "
            f"{row['in_right']:.3f} {row['in_wrong']:.3f}       {row['unclear_right']:.3f} {row['unclear_wrong']:.3f}"
            f"        {row['real_right']:.3f} {row['real_wrong']:.3f}({row['real_strict']:.3f})"
            f"     {row['objective']:.3f}"
        )
    best = choose_thresholds(table)
    print(f"chosen (within {PLATEAU} of the best objective: the lowest thresholds, then the lowest support, "
          f"then the highest ambiguity): FallbackClassifier threshold {best['threshold']}, ambiguity_threshold "
          f"{best['ambiguity']}; OpenSetGate strict_threshold {best['strict']}, strict_margin {best['margin']}, "
          f"min_support {best['support']}")
    variants = compare_variants(train, held_out, unclear, real_dev, real_held_out, split.real_style)
    return {"scores": scores, "train_seconds": run.train_seconds, "thresholds": table, "best": best,
            "variants": variants}


@dataclass
class Run:
    """One pipeline trained on the split: scores, threshold sweep, calibration and training time."""

    scores: Scores
    real_style: Scores
    thresholds: List[Dict[str, float]]
    calibration: Dict[str, List[Dict[str, Any]]]
    train_seconds: float


def evaluate(
    train: Any, held_out: Sequence[Example], unclear: Sequence[str],
    real_dev: Sequence[LabelledMessage], real_held_out: Sequence[LabelledMessage],
    overrides: Optional[Dict[str, Dict[str, Any]]] = None, real_style: Sequence[Example] = (),
) -> Run:
    """Trains config.yml (with `overrides`) through Rasa and parses every set with it."""
    texts = [e.text for e in held_out] + list(unclear) + [m.text for m in real_dev] + [m.text for m in real_held_out]
    texts += [e.text for e in real_style]
    # the sweep needs each reading's support, which config.yml does not compute
    overrides = {**(overrides or {})}
    overrides["LinearIntentClassifier"] = {"support": True, **overrides.get("LinearIntentClassifier", {})}
    with tempfile.TemporaryDirectory() as work:
        trained = train_nlu(train, Path(work), overrides=overrides)
        parses = parse_all(trained.model_path, texts)
    cut = [len(held_out), len(held_out) + len(unclear), len(held_out) + len(unclear) + len(real_dev)]
    cut.append(cut[2] + len(real_held_out))
    domain, unclear_p, dev_p = parses[:cut[0]], parses[cut[0]:cut[1]], parses[cut[1]:cut[2]]
    real_p, style_p = parses[cut[2]:cut[3]], parses[cut[3]:]
    scores = score([e.label for e in held_out], [classifier_label(p) for p in domain])
    style_scores = score([e.label for e in real_style], [classifier_label(p) for p in style_p])
    sets = {
        "in": [
            Case(p, lambda label, gold=e.label: label == gold, False) for e, p in zip(held_out, domain, strict=True)
        ],
        # unclear messages must never get an answer or a person; chit-chat or a question back is fine
        "unclear": [Case(p, lambda label: not is_strict(label), True) for p in unclear_p],
        "real": [Case(p, lambda label, m=m: reading_is_right(m, label), m.expects("clarify") or m.expects("card"))
                 for m, p in zip(real_dev, dev_p, strict=True)],
    }
    held = [Case(p, lambda label, m=m: reading_is_right(m, label), m.expects("clarify") or m.expects("card"))
            for m, p in zip(real_held_out, real_p, strict=True)]
    tables = {"in-domain held-out": calibration(sets["in"]), "real development": calibration(sets["real"]),
              "real held-out": calibration(held)}
    return Run(scores, style_scores, threshold_table(sets), tables, trained.seconds)


def choose_thresholds(table: Sequence[Dict[str, float]]) -> Dict[str, float]:
    """Within PLATEAU of the best objective: the lowest fallback threshold (fewest real questions sent
    to clarification), then the lowest support floor, then the largest ambiguity margin."""
    top = max(r["objective"] for r in table)
    near = [r for r in table if r["objective"] >= top - PLATEAU]
    return min(near, key=lambda r: (r["strict"], r["margin"], r["threshold"], r["support"], -r["ambiguity"]))


def compare_variants(
    train: Any, held_out: Sequence[Example], unclear: Sequence[str],
    real_dev: Sequence[LabelledMessage], real_held_out: Sequence[LabelledMessage],
    real_style: Sequence[Example] = (),
) -> List[Dict[str, Any]]:
    """Held-out accuracy, macro-F1, best threshold objective and training time of each variant in VARIANTS."""
    print("pipeline variants (same split): accuracy  macro-F1  objective at chosen (threshold, ambiguity)"
          "  training s")
    rows = []
    for name, overrides in VARIANTS:
        run = evaluate(train, held_out, unclear, real_dev, real_held_out, overrides, real_style)
        best = choose_thresholds(run.thresholds)
        rows.append({"variant": name, "accuracy": run.scores.accuracy, "macro_f1": run.scores.macro_f1,
                     "best": best, "train_seconds": run.train_seconds})
        print(f"  {name:<45} {run.scores.accuracy:.3f}     {run.scores.macro_f1:.3f}     "
              f"{best['objective']:.3f} ({best['threshold']}, {best['ambiguity']})          "
              f"{run.train_seconds:.1f}")
    return rows


if __name__ == "__main__":
    main()
