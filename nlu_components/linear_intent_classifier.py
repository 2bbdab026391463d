"""A fast sparse linear intent classifier (linear SVM, calibrated) that understands retrieval intents.

Rasa's own `LogisticRegressionClassifier` trains on base intents only, so every
`faq/<key>` example would collapse into one `faq` label. This component trains
on the full retrieval key instead, and reports its prediction the way Rasa's
`ResponseSelector` does (`response_selector.faq.response.intent_response_key`),
so actions and `rasa test` read it through the usual fields without a second,
slow TensorFlow model.

Optionally it blends in the intent probabilities of a `DIETClassifier` that runs
earlier in the pipeline: DIET sees base intents (`faq`, `greet`, ...), this
model splits `faq` into its entries, and the blend is a proper mixture:
`p(faq/k) = (1 - w) * p_lin(faq/k) + w * p_diet(faq) * p_lin(faq/k | faq)`.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Dict, List, Optional

import numpy as np
import scipy.sparse as sp
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.featurizers.featurizer import Featurizer
from rasa.shared.nlu.constants import (
    FEATURE_TYPE_SENTENCE,
    INTENT,
    INTENT_RANKING_KEY,
    INTENT_RESPONSE_KEY,
    PREDICTED_CONFIDENCE_KEY,
    RESPONSE_IDENTIFIER_DELIMITER,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.special import log_softmax, softmax

logger = logging.getLogger(__name__)

RESPONSE_SELECTOR = "response_selector"
# how close the message is to the training examples of the label it got (read by OpenSetGate)
INTENT_SUPPORT = "intent_support"
MODEL_FILE = "linear_model.npz"
EXAMPLES_FILE = "examples.npz"
LABELS_FILE = "labels.json"


def _split_label(label: str) -> tuple[str, Optional[str]]:
    """`faq/refund_time` -> (`faq`, `faq/refund_time`); `greet` -> (`greet`, None)."""
    if RESPONSE_IDENTIFIER_DELIMITER in label:
        return label.split(RESPONSE_IDENTIFIER_DELIMITER, 1)[0], label
    return label, None


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True
)
class LinearIntentClassifier(IntentClassifier, GraphComponent):
    """Linear SVM on TF-IDF weighted sparse features, retrieval-aware.

    Confidences are a softmax over the SVM's scores, with one temperature
    fitted on cross-validated scores so that they behave like probabilities
    (the FallbackClassifier thresholds are measured on them).
    """

    @classmethod
    def required_components(cls) -> List[type]:
        """Needs sparse sentence features from a featurizer."""
        return [Featurizer]

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Defaults; every key can be set in `config.yml`."""
        return {
            # inverse regularisation strength of the linear SVM
            "C": 1.0,
            "max_iter": 5000,
            # folds of the cross-validation that fits the softmax temperature
            "calibration_folds": 3,
            # weight of an earlier DIETClassifier's intent ranking in the blend;
            # 0 ignores DIET
            "diet_weight": 0.0,
            # how many entries `intent_ranking` reports
            "ranking_length": 10,
            "random_state": 42,
            # report `intent_support` (similarity to the nearest training examples) for the
            # open-set gate's `min_support`; a sparse product with every example per message
            "support": True,
        }

    def __init__(
        self,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        labels: Optional[List[str]] = None,
        idf: Optional[np.ndarray] = None,
        coef: Optional[np.ndarray] = None,
        intercept: Optional[np.ndarray] = None,
        temperature: float = 1.0,
        examples: Optional[sp.csr_matrix] = None,
        example_labels: Optional[np.ndarray] = None,
    ) -> None:
        self.config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.labels = labels or []
        self.idf = idf
        self.coef = coef
        self.intercept = intercept
        self.temperature = temperature
        # the training examples' weighted features and label indices: the nearest example of a
        # label tells whether the message is like anything that label was trained on
        self.examples = examples
        self.example_labels = example_labels

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LinearIntentClassifier:
        """Creates an untrained component."""
        return cls(config, model_storage, resource)

    # features ---------------------------------------------------------------

    @staticmethod
    def _raw_features(messages: List[Message]) -> sp.csr_matrix:
        rows = []
        for message in messages:
            _, sentence = message.get_sparse_features(TEXT)
            if sentence is None:
                raise ValueError(
                    "LinearIntentClassifier needs sparse features: put a "
                    "CountVectorsFeaturizer before it in config.yml."
                )
            rows.append(sp.csr_matrix(sentence.features))
        return sp.vstack(rows).tocsr()

    def _weighted(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        """Sublinear TF times IDF, L2-normalised, as sklearn's TfidfTransformer."""
        tf = counts.astype(np.float64)
        tf.data = 1.0 + np.log(np.maximum(tf.data, 1e-12))
        weighted = tf.multiply(self.idf.reshape(1, -1)).tocsr()
        norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1))).ravel()
        norms[norms == 0] = 1.0
        return sp.diags(1.0 / norms) @ weighted

    # training ---------------------------------------------------------------

    def train(self, training_data: TrainingData) -> Resource:
        """Fits the model on every example with an intent."""
        examples = [
            e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)
        ]
        if not examples:
            logger.debug("No intent examples: LinearIntentClassifier not trained.")
            return self._resource
        y = np.array([e.get(INTENT_RESPONSE_KEY) or e.get(INTENT) for e in examples])
        counts = self._raw_features(examples)
        document_frequency = np.bincount(counts.indices, minlength=counts.shape[1])
        n = counts.shape[0]
        self.idf = np.log((1 + n) / (1 + document_frequency)) + 1.0
        features = self._weighted(counts)
        model = self._svm().fit(features, y)
        self.labels = [str(label) for label in model.classes_]
        self.coef, self.intercept = self._scores_as_rows(model)
        self.temperature = self._fit_temperature(features, y)
        index = {label: i for i, label in enumerate(self.labels)}
        self.examples = features.astype(np.float32)
        self.example_labels = np.array([index[str(label)] for label in y], dtype=np.int32)
        self.persist()
        return self._resource

    def _svm(self) -> Any:
        from sklearn.svm import LinearSVC

        return LinearSVC(
            C=self.config["C"],
            max_iter=self.config["max_iter"],
            random_state=self.config["random_state"],
        )

    @staticmethod
    def _scores_as_rows(model: Any) -> tuple[np.ndarray, np.ndarray]:
        """One weight row per label, also for two labels (sklearn keeps one row then)."""
        if len(model.classes_) == 2:
            return (
                np.vstack([-model.coef_[0] / 2, model.coef_[0] / 2]),
                np.array([-model.intercept_[0] / 2, model.intercept_[0] / 2]),
            )
        return model.coef_, model.intercept_

    def _fit_temperature(self, features: sp.csr_matrix, y: np.ndarray) -> float:
        """The softmax temperature that minimises log-loss on cross-validated SVM scores."""
        from scipy.optimize import minimize_scalar
        from sklearn.model_selection import StratifiedKFold

        folds = int(self.config["calibration_folds"])
        _, label_counts = np.unique(y, return_counts=True)
        # with at least `folds` examples per label, every training fold sees every
        # label, so each fold model scores the same columns as the full model
        if folds < 2 or label_counts.min() < folds:
            return 1.0
        label_index = {label: i for i, label in enumerate(self.labels)}
        scores, gold = [], []
        splitter = StratifiedKFold(folds, shuffle=True, random_state=self.config["random_state"])
        for train_idx, test_idx in splitter.split(features, y):
            coef, intercept = self._scores_as_rows(self._svm().fit(features[train_idx], y[train_idx]))
            scores.append(np.asarray(features[test_idx] @ coef.T) + intercept)
            gold.extend(label_index[str(label)] for label in y[test_idx])
        all_scores, rows, gold_idx = np.vstack(scores), np.arange(len(gold)), np.array(gold)

        def log_loss(log_t: float) -> float:
            return float(-log_softmax(all_scores / np.exp(log_t), axis=1)[rows, gold_idx].mean())

        best = minimize_scalar(log_loss, bounds=(np.log(0.01), np.log(10.0)), method="bounded")
        return float(np.exp(best.x))

    # prediction -------------------------------------------------------------

    def _probabilities(self, features: sp.csr_matrix) -> np.ndarray:
        scores = features @ self.coef.T
        return softmax((np.asarray(scores) + self.intercept) / self.temperature, axis=1)

    def _support(self, features: sp.csr_matrix, label_index: int) -> Dict[str, Any]:
        """Cosine similarity of the message to its closest training example of the label, and to the
        closest example of any label (features are L2-normalised, so a dot product is the cosine)."""
        if self.examples is None or self.example_labels is None:
            return {}
        similarities = np.asarray((self.examples @ features.T).todense()).ravel()
        own = similarities[self.example_labels == label_index]
        nearest = int(np.argmax(similarities)) if similarities.size else 0
        return {
            "label": self.labels[label_index],
            "similarity": float(own.max()) if own.size else 0.0,
            "nearest_label": self.labels[int(self.example_labels[nearest])] if similarities.size else None,
            "nearest_similarity": float(similarities[nearest]) if similarities.size else 0.0,
        }

    def _blend_with_diet(self, message: Message, probs: np.ndarray) -> np.ndarray:
        weight = float(self.config["diet_weight"])
        diet_ranking = message.get(INTENT_RANKING_KEY) or []
        if weight <= 0 or not diet_ranking:
            return probs
        diet = {r["name"]: float(r[PREDICTED_CONFIDENCE_KEY]) for r in diet_ranking}
        base_of = [_split_label(label)[0] for label in self.labels]
        base_mass: Dict[str, float] = {}
        for base, p in zip(base_of, probs, strict=False):
            base_mass[base] = base_mass.get(base, 0.0) + p
        diet_part = np.array(
            [
                diet.get(base, 0.0) * p / base_mass[base] if base_mass[base] else 0.0
                for base, p in zip(base_of, probs, strict=False)
            ]
        )
        return (1 - weight) * probs + weight * diet_part

    def _message_probabilities(self, message: Message) -> np.ndarray:
        """`_probabilities(_weighted(...))` for one message, on the message's non-zero columns only.

        A customer's message has a handful of words among thousands of columns: building, weighting and
        normalising scipy matrices for it cost several times the arithmetic (a tenth of Rasa's CPU per
        message under load, py-spy). Same sums as the matrix path, so the same probabilities."""
        # the featurizers' sentence rows side by side, as `message.get_sparse_features` joins them, without
        # its deep copies and sparse stacking (and without its sequence features, which are not used here)
        parts, offset = [], 0
        for feature in message.features:
            if feature.attribute == TEXT and feature.type == FEATURE_TYPE_SENTENCE and feature.is_sparse():
                row = feature.features.tocoo()
                parts.append((row.col + offset, row.data))
                offset += row.shape[1]
        if not parts:
            raise ValueError(
                "LinearIntentClassifier needs sparse features: put a CountVectorsFeaturizer before it in config.yml."
            )
        columns = np.concatenate([part[0] for part in parts])
        counts = np.concatenate([part[1] for part in parts]).astype(np.float64)
        if columns.size > 1:
            # repeated columns are summed, as the CSR conversion of the matrix path does
            columns, position = np.unique(columns, return_inverse=True)
            counts = np.bincount(position, weights=counts, minlength=columns.size)
        weights = (1.0 + np.log(np.maximum(counts, 1e-12))) * self.idf[columns]
        norm = float(np.sqrt(np.dot(weights, weights))) or 1.0
        scores = self.coef[:, columns] @ (weights / norm)
        return softmax((scores + self.intercept) / self.temperature)

    def process(self, messages: List[Message]) -> List[Message]:
        """Sets `intent`, `intent_ranking` and, for retrieval intents, `response_selector`."""
        if self.coef is None or not messages:
            return messages
        if self.config["support"]:
            features = self._weighted(self._raw_features(messages))
            all_probs = self._probabilities(features)
        else:
            all_probs = [self._message_probabilities(message) for message in messages]
        for row, (message, probs) in enumerate(zip(messages, all_probs, strict=False)):
            probs = self._blend_with_diet(message, probs)
            order = np.argsort(-probs)
            ranking = []
            for index in order[: max(self.config["ranking_length"], 1)]:
                name, response_key = _split_label(self.labels[index])
                entry = {"name": name, PREDICTED_CONFIDENCE_KEY: float(probs[index])}
                if response_key:
                    entry[INTENT_RESPONSE_KEY] = response_key
                ranking.append(entry)
            top = ranking[0]
            message.set(
                INTENT,
                {"name": top["name"], PREDICTED_CONFIDENCE_KEY: top[PREDICTED_CONFIDENCE_KEY]},
                add_to_output=True,
            )
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
            if self.config["support"]:
                message.set(INTENT_SUPPORT, self._support(features[row], int(order[0])), add_to_output=True)
            self._set_response_selector(message, ranking)
        return messages

    @staticmethod
    def _set_response_selector(message: Message, ranking: List[Dict[str, Any]]) -> None:
        """Mirrors ResponseSelector's output for each retrieval intent in the ranking."""
        selector: Dict[str, Any] = {}
        for entry in ranking:
            key = entry.get(INTENT_RESPONSE_KEY)
            if not key:
                continue
            retrieval_intent = entry["name"]
            block = selector.setdefault(
                retrieval_intent,
                {
                    "response": {
                        INTENT_RESPONSE_KEY: key,
                        PREDICTED_CONFIDENCE_KEY: entry[PREDICTED_CONFIDENCE_KEY],
                        "responses": None,
                        "utter_action": f"utter_{key}",
                    },
                    "ranking": [],
                },
            )
            block["ranking"].append(
                {
                    INTENT_RESPONSE_KEY: key,
                    PREDICTED_CONFIDENCE_KEY: entry[PREDICTED_CONFIDENCE_KEY],
                }
            )
        if selector:
            selector["all_retrieval_intents"] = sorted(selector)
            message.set(RESPONSE_SELECTOR, selector, add_to_output=True)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Nothing downstream needs this component's predictions during training."""
        return training_data

    # persistence ------------------------------------------------------------

    def persist(self) -> None:
        """Stores plain arrays and a JSON label list: no pickles in the model."""
        with self._model_storage.write_to(self._resource) as directory:
            np.savez(
                directory / MODEL_FILE,
                idf=self.idf,
                coef=self.coef,
                intercept=self.intercept,
                temperature=np.array(self.temperature),
            )
            if self.examples is not None:
                sp.save_npz(directory / EXAMPLES_FILE, self.examples.tocsr())
                np.save(directory / "example_labels.npy", self.example_labels)
            (directory / LABELS_FILE).write_text(
                json.dumps(self.labels, ensure_ascii=False), encoding="utf-8"
            )

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> LinearIntentClassifier:
        """Loads a trained component, or an untrained one if nothing was stored."""
        try:
            with model_storage.read_from(resource) as directory:
                arrays = np.load(directory / MODEL_FILE)
                labels = json.loads((directory / LABELS_FILE).read_text(encoding="utf-8"))
                examples = example_labels = None
                if (directory / EXAMPLES_FILE).exists():
                    examples = sp.load_npz(directory / EXAMPLES_FILE).tocsr()
                    example_labels = np.load(directory / "example_labels.npy")
                return cls(
                    config,
                    model_storage,
                    resource,
                    labels=labels,
                    idf=arrays["idf"],
                    coef=arrays["coef"],
                    intercept=arrays["intercept"],
                    temperature=float(arrays["temperature"]),
                    examples=examples,
                    example_labels=example_labels,
                )
        except (ValueError, FileNotFoundError):
            logger.debug("LinearIntentClassifier: no trained model in storage.")
            return cls.create(config, model_storage, resource, execution_context)
