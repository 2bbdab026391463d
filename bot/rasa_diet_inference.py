"""DIETClassifier's intent prediction computed with numpy instead of a TensorFlow function call.

py-spy on the Rasa process under load put DIETClassifier.process -> _predict -> RasaModel.run_inference ->
tf.function call at ~16% of Rasa's busy CPU, half of it TensorFlow's per-call overhead (signature matching,
nest.flatten, convert_to_eager_tensor), plus Rasa building a RasaModelData and a batch generator for the
one message, all for a tiny network.

For the configuration the shop uses (no transformer layers, no entity recognition, intent classification
on, sparse features only), DIET's intent scores depend on the sentence-level features alone: the
sentence vector is the last position of the combined sequence, and every layer before it works per
position. So for one message the forward pass is

    sentence row (sparse, vocabulary wide) @ sparse_to_dense kernel + bias
    -> hidden layers (kernel * connection mask + bias, exact gelu)
    -> text embedding (kernel + bias)
    -> inner or cosine similarity with the label embeddings Rasa computed at load (`all_labels_embed`)
    -> softmax (when model_confidence is softmax)

On models/shop.tar.gz this takes DIET's `process` from ~1.5 ms to ~35 us per message.

The weights are read once per loaded model from its Keras layers, on its first prediction, and used in
float64, so what differs from Rasa is TensorFlow's own float32 rounding (with float32 sums in numpy's
order, two labels at ~1e-9 confidence swapped places in one ranking of the shop's ~8k training texts;
with float64, none did). `_predict` returns the `i_scores` Rasa's own path returns (not the diagnostic
tensors), so `process` ranks and names intents with Rasa's code. Any model or message outside that
configuration, and any run that asks for diagnostic data, goes through Rasa's own TensorFlow path
unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import scipy.sparse
import tensorflow as tf
from rasa.nlu.classifiers.diet_classifier import DIET, DIETClassifier
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.utils.tensorflow.constants import (
    COSINE,
    ENTITY_RECOGNITION,
    FEATURIZERS,
    INNER,
    INTENT_CLASSIFICATION,
    LABEL,
    SENTENCE,
    SEQUENCE,
    SOFTMAX,
)
from rasa.utils.tensorflow.layers import DenseForSparse, RandomlyConnectedDense
from scipy.special import erf

_original_predict = DIETClassifier._predict


class _Unsupported(Exception):
    """The model or the message needs something the numpy forward pass does not do."""


def _dense_weights(layer: tf.keras.layers.Dense) -> Tuple[np.ndarray, np.ndarray]:
    """A Dense layer's kernel and bias (zeros without one), as Keras applies them, in float64."""
    kernel = layer.kernel.numpy().astype(np.float64)
    if isinstance(layer, RandomlyConnectedDense) and layer.kernel_mask is not None:
        # Rasa multiplies the kernel by its mask on every call
        kernel = kernel * layer.kernel_mask.numpy()
    bias = layer.bias.numpy().astype(np.float64) if layer.use_bias else np.zeros(kernel.shape[1])
    return kernel, bias


def _l2_normalize(x: np.ndarray) -> np.ndarray:
    """tf.nn.l2_normalize on the last axis (epsilon 1e-12 on the squared norm)."""
    return x / np.sqrt(np.maximum(np.sum(x * x, axis=-1, keepdims=True), 1e-12))


def _gelu(x: np.ndarray) -> np.ndarray:
    """tf.nn.gelu with approximate=False."""
    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


@dataclass
class NumpyDiet:
    """A loaded DIET model's intent forward pass for one message, in numpy."""

    featurizers: List[str]
    sentence_kernel: np.ndarray  # (vocabulary, dense dimension)
    sentence_bias: np.ndarray
    hidden_layers: List[Tuple[np.ndarray, np.ndarray]]
    embed_kernel: np.ndarray
    embed_bias: np.ndarray
    label_embeddings: np.ndarray  # (labels, embedding dimension), normalised for cosine
    cosine: bool
    softmax: bool

    @classmethod
    def from_classifier(cls, classifier: DIETClassifier) -> NumpyDiet:
        """Reads the weights of a trained classifier's model; raises _Unsupported for other setups."""
        config = classifier.component_config
        model = classifier.model
        # ResponseSelector's models subclass DIET and predict differently
        if type(model) is not DIET:
            raise _Unsupported("not a DIET model")
        if not config[INTENT_CLASSIFICATION] or config[ENTITY_RECOGNITION]:
            raise _Unsupported("needs intent classification only")
        text_signature = model.data_signature.get(TEXT, {})
        sentence_signature = text_signature.get(SENTENCE, [])
        all_signatures = list(sentence_signature) + list(text_signature.get(SEQUENCE, []))
        # all-sparse features keep sequence and sentence the same width: no dimension-unifying layers
        if len(sentence_signature) != 1 or not all(s.is_sparse for s in all_signatures):
            raise _Unsupported("needs one sparse sentence feature and no dense features")

        sequence_layer = model._tf_layers[f"sequence_layer.{TEXT}"]
        if sequence_layer._has_transformer:
            raise _Unsupported("has transformer layers")
        combining = sequence_layer._tf_layers[sequence_layer.FEATURE_COMBINING]
        if any(name.startswith("unify_dims") for name in combining._tf_layers):
            raise _Unsupported("unifies sequence and sentence dimensions")
        to_dense = combining._tf_layers[f"sparse_dense.{SENTENCE}"]._tf_layers["sparse_to_dense"]
        if not isinstance(to_dense, DenseForSparse) or to_dense.activation is not tf.keras.activations.linear:
            raise _Unsupported("unexpected sparse-to-dense layer")

        hidden_layers = []
        for layer in sequence_layer._tf_layers[sequence_layer.FFNN]._ffn_layers:
            if isinstance(layer, tf.keras.layers.Dropout):
                continue  # inactive at prediction
            if not isinstance(layer, RandomlyConnectedDense) or layer.activation is not tf.nn.gelu:
                raise _Unsupported("unexpected hidden layer")
            hidden_layers.append(_dense_weights(layer))

        embed = model._tf_layers[f"embed.{TEXT}"]._dense
        if embed.activation is not tf.keras.activations.linear:
            raise _Unsupported("unexpected embedding activation")
        loss = model._tf_layers[f"loss.{LABEL}"]
        if loss.similarity_type not in (INNER, COSINE):
            raise _Unsupported("unexpected similarity type")

        # Rasa's label embeddings, prepared exactly as its first prediction would
        model._training = False
        if not model.prepared_for_prediction:
            model.prepare_for_predict()
            model.prepared_for_prediction = True
        labels = model.all_labels_embed.numpy().astype(np.float64)
        cosine = loss.similarity_type == COSINE

        sentence_kernel, sentence_bias = _dense_weights(to_dense)
        embed_kernel, embed_bias = _dense_weights(embed)
        return cls(
            featurizers=list(config[FEATURIZERS] or []),
            sentence_kernel=sentence_kernel,
            sentence_bias=sentence_bias,
            hidden_layers=hidden_layers,
            embed_kernel=embed_kernel,
            embed_bias=embed_bias,
            label_embeddings=_l2_normalize(labels) if cosine else labels,
            cosine=cosine,
            softmax=loss.model_confidence == SOFTMAX,
        )

    def _sentence_row(self, message: Message) -> Optional[scipy.sparse.coo_matrix]:
        """The message's sentence features as DIET reads them; None when it has no text features."""
        features = [
            f for f in message.features
            if f.attribute == TEXT and (not self.featurizers or f.origin in self.featurizers)
        ]
        if not features:
            return None  # Rasa's model data is empty: no prediction
        if any(f.is_dense() for f in features):
            raise _Unsupported("message has dense features")
        sentence = [f.features for f in features if f.type == FEATURE_TYPE_SENTENCE]
        if not sentence:
            raise _Unsupported("message has no sentence features")
        # several featurizers' features are joined side by side, as Message.get_sparse_features does
        row = sentence[0] if len(sentence) == 1 else scipy.sparse.hstack(sentence)
        if row.shape != (1, self.sentence_kernel.shape[0]):
            raise _Unsupported("feature width differs from the model's")
        return row.tocoo()

    def predict(self, message: Message) -> Optional[Dict[str, Any]]:
        """Rasa's `_predict` output for intents: {"i_scores": (1, labels) array}, or None."""
        row = self._sentence_row(message)
        if row is None:
            return None
        x = row.data.astype(np.float64) @ self.sentence_kernel[row.col] + self.sentence_bias
        for hidden_kernel, hidden_bias in self.hidden_layers:
            x = _gelu(x @ hidden_kernel + hidden_bias)
        embedded = x @ self.embed_kernel + self.embed_bias
        if self.cosine:
            embedded = _l2_normalize(embedded)
        scores = self.label_embeddings @ embedded
        if self.softmax:
            scores = np.exp(scores - scores.max())
            scores /= scores.sum()
        # float32, as TensorFlow returns them
        return {"i_scores": scores[np.newaxis, :].astype(np.float32)}


def numpy_forward(classifier: DIETClassifier) -> Optional[NumpyDiet]:
    """The classifier's numpy forward pass, built once per model; None if its model is not supported."""
    model = classifier.model
    cached = classifier.__dict__.get("_numpy_diet")
    if cached is None or cached[0] is not model:
        try:
            forward = NumpyDiet.from_classifier(classifier) if model is not None else None
        except _Unsupported:
            forward = None
        cached = classifier.__dict__["_numpy_diet"] = (model, forward)
    return cached[1]


def predict_with_numpy(self: DIETClassifier, message: Message) -> Optional[Dict[str, Any]]:
    """DIETClassifier._predict: numpy for supported models, Rasa's own path for everything else."""
    forward = numpy_forward(self)
    if forward is None or self._execution_context.should_add_diagnostic_data:
        return _original_predict(self, message)
    try:
        return forward.predict(message)
    except _Unsupported:
        return _original_predict(self, message)


def install() -> None:
    """Makes every DIETClassifier in this process predict through `predict_with_numpy`."""
    DIETClassifier._predict = predict_with_numpy
