"""CountVectorsFeaturizer's features for a message counted directly from the fitted vocabulary, instead of
through scikit-learn's `CountVectorizer.transform`.

py-spy on the Rasa process under load put `CountVectorsFeaturizer._create_features` at ~7% of Rasa's busy
CPU. Per message each featurizer calls `transform` twice (the tokens as documents for the sequence
features, the joined tokens for the sentence features), and each call checks the vocabulary, builds the
analyzer anew, builds a CSR matrix through scipy's checking constructor, sorts its indices and converts it
to COO through a second checking constructor: far more work than counting a dozen tokens.

Here each vectorizer's analyzer (`build_analyzer()`, so the same preprocessing, tokenizing, stop words and
n-grams) is built once, and its vocabulary is kept with plain int indices; features are counted as
sklearn's `_count_vocab` counts them, and the COO matrix Rasa gets from `transform(...)` ->
`sort_indices()` -> `tocoo()` is assembled directly: the same shape, dtype, row, col (sorted within each
row) and data, and the attributes scipy's own `tocoo()` sets. Customers' words recur, so each token's
counted row (a sequence-feature row depends on that token alone) is kept for the next message that has
it, up to 20,000 distinct tokens per vectorizer. Training (`fit`) is untouched; the tokens
(number replacement, lower case, OOV-token replacement) are still made by Rasa's own code before this
point. A vectorizer this does not cover (not fitted, empty vocabulary, a subclass of CountVectorizer, or a
matrix too large for int32 indices) goes through Rasa's own `_create_features`.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import scipy.sparse
from rasa.nlu.constants import DENSE_FEATURIZABLE_ATTRIBUTES
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from sklearn.feature_extraction.text import CountVectorizer

_original_create_features = CountVectorsFeaturizer._create_features

# what `build_analyzer` reads (directly or through the preprocessor, tokenizer and decoder it binds)
_analyzer_settings = operator.attrgetter(
    "input", "encoding", "decode_error", "strip_accents", "lowercase", "preprocessor", "tokenizer", "stop_words",
    "token_pattern", "ngram_range", "analyzer",
)
# distinct tokens whose rows are kept per vectorizer (the shop's vocabulary has ~4,500 words)
_REMEMBERED_ROWS = 20_000
_INT32_MAX = int(np.iinfo(np.int32).max)

# the attributes scipy's `csr_matrix.tocoo()` gives a COO matrix besides its shape and arrays
# (`maxprint`, `has_canonical_format`), read from a matrix made by that very call
_COO_TEMPLATE = scipy.sparse.csr_matrix((1, 1), dtype=np.int64).tocoo()
_COO_CLASS = type(_COO_TEMPLATE)
_COO_EXTRAS = {k: v for k, v in _COO_TEMPLATE.__dict__.items() if k not in ("_shape", "row", "col", "data")}


@dataclass
class _KeptCounting:
    """A vectorizer's analyzer and vocabulary, as its `transform` would build and read them."""

    vectorizer: CountVectorizer
    settings: Tuple[Any, ...]  # the analyzer settings the analyzer was built from
    analyze: Callable[[str], List[str]]
    vocabulary: Mapping[str, Any]  # the vectorizer's `vocabulary_` the indices were read from
    indices: Dict[str, int]
    rows: Dict[str, Tuple[List[int], List[int]]] = field(default_factory=dict)  # counted tokens


def kept_counting(featurizer: CountVectorsFeaturizer, vectorizer: Any) -> Optional[_KeptCounting]:
    """The analyzer and int vocabulary of one of the featurizer's vectorizers, built once per vectorizer (and
    again if its analyzer settings or its vocabulary object are replaced); None where `transform` is left
    to scikit-learn."""
    if type(vectorizer) is not CountVectorizer:
        return None  # a subclass may transform differently
    vocabulary = vectorizer.__dict__.get("vocabulary_")
    if not vocabulary:
        return None  # not fitted or empty: sklearn raises its own error
    settings = _analyzer_settings(vectorizer)
    # kept by the featurizer that holds the vectorizer, so both go when the model is unloaded
    kept_by_vectorizer: Dict[int, _KeptCounting] = featurizer.__dict__.setdefault("_kept_counting", {})
    kept = kept_by_vectorizer.get(id(vectorizer))
    if (kept is None or kept.vectorizer is not vectorizer or kept.vocabulary is not vocabulary
            or kept.settings != settings):
        # a loaded model's vocabulary holds np.int64 indices: plain ints are quicker to hash and to copy
        kept = kept_by_vectorizer[id(vectorizer)] = _KeptCounting(
            vectorizer, settings, vectorizer.build_analyzer(), vocabulary,
            {term: int(index) for term, index in vocabulary.items()},
        )
    return kept


def _counted_row(kept: _KeptCounting, document: str) -> Tuple[List[int], List[int]]:
    """One document's vocabulary columns (ascending, as `sort_indices` leaves them) and their counts."""
    indices = kept.indices
    found: Dict[int, int] = {}
    for feature in kept.analyze(document):
        index = indices.get(feature)
        if index is not None:  # out-of-vocabulary features are ignored, as sklearn does
            found[index] = found.get(index, 0) + 1
    cols = sorted(found)
    return cols, [found[c] for c in cols]


def count_matrix(kept: _KeptCounting, documents: Sequence[str], n_features: int, dtype: Any,
                 binary: bool, remember: bool = False) -> scipy.sparse.coo_matrix:
    """`transform(documents)`, then `sort_indices()` and `tocoo()`, as one COO matrix. With `remember`, each
    document's row is kept for the next time it is seen (tokens: a few thousand words recur)."""
    rows: List[int] = []
    cols: List[int] = []
    counts: List[int] = []
    memo = kept.rows
    for row, document in enumerate(documents):
        counted = memo.get(document) if remember else None
        if counted is None:
            counted = _counted_row(kept, document)
            if remember:
                if len(memo) >= _REMEMBERED_ROWS:
                    memo.clear()
                memo[document] = counted
        row_cols, row_counts = counted
        if row_cols:
            rows.extend([row] * len(row_cols))
            cols.extend(row_cols)
            counts.extend([1] * len(row_cols) if binary else row_counts)
    matrix = _COO_CLASS.__new__(_COO_CLASS)
    matrix.__dict__.update(_COO_EXTRAS)
    matrix._shape = (len(documents), n_features)  # noqa: SLF001 - scipy keeps the shape there
    matrix.row = np.array(rows, dtype=np.int32)
    matrix.col = np.array(cols, dtype=np.int32)
    matrix.data = np.array(counts, dtype=dtype)
    return matrix


def create_features(
    self: CountVectorsFeaturizer, attribute: str, all_tokens: List[List[str]]
) -> Tuple[List[Optional[scipy.sparse.spmatrix]], List[Optional[scipy.sparse.spmatrix]]]:
    """CountVectorsFeaturizer._create_features, counted without `CountVectorizer.transform`'s overhead."""
    vectorizer = self.vectorizers.get(attribute)
    if not vectorizer:
        return [None], [None]
    if not any(all_tokens):
        # most of a prediction's attributes (intent, action name, ...) have no tokens: nothing to count
        return [None] * len(all_tokens), [None] * len(all_tokens)
    kept = kept_counting(self, vectorizer)
    if kept is None or max(len(kept.indices), max(map(len, all_tokens), default=0)) > _INT32_MAX:
        return _original_create_features(self, attribute, all_tokens)

    n_features, dtype, binary = len(kept.vocabulary), vectorizer.dtype, vectorizer.binary
    sentence_level = attribute in DENSE_FEATURIZABLE_ATTRIBUTES
    sequence_features: List[Optional[scipy.sparse.spmatrix]] = []
    sentence_features: List[Optional[scipy.sparse.spmatrix]] = []
    for tokens in all_tokens:
        if not tokens:
            sequence_features.append(None)
            sentence_features.append(None)
            continue
        sequence_features.append(count_matrix(kept, tokens, n_features, dtype, binary, remember=True))
        sentence_features.append(
            count_matrix(kept, [" ".join(tokens)], n_features, dtype, binary) if sentence_level else None
        )
    return sequence_features, sentence_features


def install() -> None:
    """Makes every CountVectorsFeaturizer in this process count its features through `create_features`."""
    CountVectorsFeaturizer._create_features = create_features
