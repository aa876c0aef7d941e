"""keras.metrics: running (weighted) means (accuracies, regression errors), confusion counts
at thresholds (Precision, Recall, AUC, ...), F-scores and MeanIoU; by object or by Keras's
names in ``compile``."""

from __future__ import annotations

import numpy as np

from .. import losses as losses_module
from .. import serialization
from ..backend import snake_case
from ..tensors import eager
from .accuracy import (
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
)
from .base import Mean, Metric, Sum, _array, _round_to_float32
from .confusion import (
    AUC,
    FalseNegatives,
    FalsePositives,
    Precision,
    Recall,
    TrueNegatives,
    TruePositives,
)
from .f_score import F1Score, FBetaScore
from .iou import MeanIoU
from .regression import (
    CosineSimilarity,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    RootMeanSquaredError,
)

_ALL = (
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    TopKCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    MeanAbsoluteError,
    MeanSquaredError,
    RootMeanSquaredError,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    CosineSimilarity,
    Mean,
    Sum,
    TruePositives,
    FalsePositives,
    TrueNegatives,
    FalseNegatives,
    Precision,
    Recall,
    AUC,
    F1Score,
    FBetaScore,
)
_CLASSES = {c.__name__: c for c in (*_ALL, MeanIoU)}
# Keras finds metrics by class name, by its snake_case ("precision", "auc", "true_positives")
# and by the short names below; the metric then logs under the name it was asked by.
_ALIASES = {
    **{snake_case(c.__name__): c for c in _ALL},
    "auc": AUC,
    "f1_score": F1Score,
    "fbeta_score": FBetaScore,
    "mae": MeanAbsoluteError,
    "mse": MeanSquaredError,
    "mape": MeanAbsolutePercentageError,
    "msle": MeanSquaredLogarithmicError,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
}
ACCEPTED = ("accuracy", "acc") + tuple(_ALIASES)


def get(identifier, loss=None, y_true_shape=None, y_pred_shape=None) -> Metric:
    """A metric object; 'accuracy' / 'acc' resolve like Keras from the target and output shapes
    (binary when the output has one unit, sparse when the targets lack the class axis)."""
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str) and identifier in ("accuracy", "acc"):
        if y_pred_shape is None or y_true_shape is None:
            raise ValueError("'accuracy' needs the target and output shapes to be resolved")
        binary = y_pred_shape[-1] == 1
        sparse = len(y_true_shape) < len(y_pred_shape) or (
            y_true_shape[-1] == 1 and y_pred_shape[-1] > 1
        )
        if isinstance(loss, losses_module.BinaryCrossentropy) or binary:
            return BinaryAccuracy(name=identifier)
        if isinstance(loss, losses_module.SparseCategoricalCrossentropy) or sparse:
            return SparseCategoricalAccuracy(name=identifier)
        return CategoricalAccuracy(name=identifier)
    if isinstance(identifier, str) and identifier in _ALIASES:
        return _ALIASES[identifier](name=identifier)
    if isinstance(identifier, str) and identifier in _CLASSES and identifier != "MeanIoU":
        return _CLASSES[identifier]()
    raise ValueError(
        f"Unknown metric: {identifier!r}. Accepted metrics: "
        f"{', '.join(repr(a) for a in ACCEPTED)}, or a keras.metrics.Metric "
        "instance (MeanIoU needs num_classes: pass MeanIoU(num_classes=...))."
    )


def check(identifier) -> None:
    """Fails early (at compile) on a metric name that get() would refuse."""
    if isinstance(identifier, Metric) or identifier in ACCEPTED or identifier in _CLASSES:
        if identifier != "MeanIoU":
            return
    get(identifier)


def serialize(metric: Metric) -> dict:
    return serialization.serialize_keras_object(metric, "keras.metrics")


def deserialize(config, custom_objects=None):
    if isinstance(config, str):
        return config
    return serialization.deserialize_keras_object(config, _CLASSES, custom_objects, what="metric")


def _per_element(metric, y_true, y_pred):
    return eager(np.asarray(metric._values(_array(y_true), _array(y_pred)), np.float32))


def binary_accuracy(y_true, y_pred, threshold=0.5):
    return _per_element(BinaryAccuracy(threshold=threshold), y_true, y_pred)


def sparse_categorical_accuracy(y_true, y_pred):
    return _per_element(SparseCategoricalAccuracy(), y_true, y_pred)


def categorical_accuracy(y_true, y_pred):
    return _per_element(CategoricalAccuracy(), y_true, y_pred)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    return _per_element(TopKCategoricalAccuracy(k), y_true, y_pred)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    return _per_element(SparseTopKCategoricalAccuracy(k), y_true, y_pred)


__all__ = [
    *_CLASSES,
    "get",
    "check",
    "serialize",
    "deserialize",
    "binary_accuracy",
    "categorical_accuracy",
    "sparse_categorical_accuracy",
    "top_k_categorical_accuracy",
    "sparse_top_k_categorical_accuracy",
    "_round_to_float32",
]
