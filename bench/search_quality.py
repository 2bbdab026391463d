"""How well the knowledge-base search finds entries, and where `min_similarity` should sit.

Queries are the NLU examples of each `faq/<key>` intent (the search never
indexes them: it indexes only the knowledge base's questions and paraphrases).
Negatives are the out-of-scope and chit-chat examples: a good threshold keeps
them from getting suggestions.
Run: `make bench` (all) or `.venv/bin/python -m bench.search_quality`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Dict

from rasa.shared.nlu.training_data.loading import load_data

from core.settings import project_path, settings
from knowledge import load_knowledge_base
from knowledge.search import KnowledgeSearch

ROOT = Path(__file__).resolve().parent.parent
NEGATIVE_INTENTS = {"out_of_scope", "greet", "goodbye", "thank", "bot_challenge"}


def main() -> Dict[str, Any]:
    """Prints hit rates and the threshold sweep."""
    config = settings()["knowledge_base"]
    kb = load_knowledge_base(project_path(config["path"]))
    started = time.perf_counter()
    search = KnowledgeSearch(kb, project_path(config["dictionary_dir"]))
    build = time.perf_counter() - started
    data = load_data(str(ROOT / "data" / "nlu"))
    positives = [
        (m.get("text"), m.get("intent_response_key").split("/", 1)[1])
        for m in data.intent_examples
        if m.get("intent_response_key")
    ]
    negatives = [m.get("text") for m in data.intent_examples if m.get("intent") in NEGATIVE_INTENTS]
    started = time.perf_counter()
    pos_hits = [(key, search.search(text, limit=3)) for text, key in positives]
    per_query_ms = (time.perf_counter() - started) * 1000 / len(positives)
    neg_hits = [search.search(text, limit=3) for text in negatives]
    top1 = sum(1 for key, hits in pos_hits if hits and hits[0].entry.key == key) / len(pos_hits)
    top3 = sum(1 for key, hits in pos_hits if key in [h.entry.key for h in hits]) / len(pos_hits)
    print("== Knowledge-base search (TF-IDF words + character bigrams, cosine) ==")
    print(f"index: {len(kb)} entries, built in {build * 1000:.0f} ms; query {per_query_ms:.2f} ms")
    print(f"{len(positives)} FAQ-style queries: top-1 {top1:.3f}, top-3 {top3:.3f}")
    print("  min_similarity  right entry offered  negatives offered something")
    rows = []
    for t in (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4):
        found = sum(
            1 for key, hits in pos_hits if key in [h.entry.key for h in hits if h.score >= t]
        ) / len(pos_hits)
        leaked = sum(1 for hits in neg_hits if hits and hits[0].score >= t) / max(len(neg_hits), 1)
        rows.append({"min_similarity": t, "found": found, "negatives": leaked})
        print(f"  {t:>14.2f}  {found:>19.3f}  {leaked:>28.3f}")
    return {"top1": top1, "top3": top3, "sweep": rows}


if __name__ == "__main__":
    main()
