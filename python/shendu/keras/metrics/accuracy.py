"""Accuracy metrics: the (weighted) fraction of predictions that match their targets."""

from __future__ import annotations

import math

import numpy as np

from ... import _device
from .base import Metric, _array


def _labels_like(y_true, y_pred):
    """Sparse labels as an int array matching y_pred's leading dimensions."""
    return y_true.reshape(y_pred.shape[:-1]).astype(np.int64, copy=False)


class Accuracy(Metric):
    name = "accuracy"

    def _values(self, y_true, y_pred):
        return y_true.reshape(y_pred.shape) == y_pred


class BinaryAccuracy(Metric):
    name = "binary_accuracy"

    def __init__(self, name=None, dtype=None, threshold=0.5):
        if not 0 < threshold < 1:
            raise ValueError(f"BinaryAccuracy: threshold must be in (0, 1), got {threshold!r}")
        self.threshold = float(threshold)
        super().__init__(name, dtype)

    def _values(self, y_true, y_pred):
        return (y_pred > self.threshold) == (y_true.reshape(y_pred.shape) > 0.5)

    def update_from_logits(self, y_true, logits, activation, sample_weight=None):
        if activation != "sigmoid":
            return super().update_from_logits(y_true, logits, activation, sample_weight)
        # sigmoid(z) > t  <=>  z > log(t / (1 - t)): no need to apply the sigmoid.
        cut = math.log(self.threshold / (1 - self.threshold))
        y_true, logits = _array(y_true), _array(logits)
        self._add((logits > cut) == (y_true.reshape(logits.shape) > 0.5), sample_weight)

    def get_config(self):
        return {**super().get_config(), "threshold": self.threshold}


class CategoricalAccuracy(Metric):
    name = "categorical_accuracy"

    def _values(self, y_true, y_pred):
        return y_true.argmax(-1) == y_pred.argmax(-1)

    def update_from_logits(self, y_true, logits, activation, sample_weight=None):
        self.update_state(y_true, logits, sample_weight)  # softmax keeps the argmax


class SparseCategoricalAccuracy(Metric):
    name = "sparse_categorical_accuracy"

    def _values(self, y_true, y_pred):
        return _labels_like(y_true, y_pred) == y_pred.argmax(-1)

    def update_from_logits(self, y_true, logits, activation, sample_weight=None):
        self.update_state(y_true, logits, sample_weight)


def _in_top_k(labels, y_pred, k):
    """Whether each label's score is among the k highest, ties at the boundary counted in (as
    TensorFlow's in_top_k): fewer than k classes score strictly higher."""
    xp = _device.array_module(y_pred)
    target = xp.take_along_axis(y_pred, labels[..., None], axis=-1)
    return (y_pred > target).sum(axis=-1) < k


class _TopK(Metric):
    def __init__(self, k=5, name=None, dtype=None):
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"{type(self).__name__}: k must be a positive int, got {k!r}")
        self.k = int(k)
        super().__init__(name, dtype)

    def update_from_logits(self, y_true, logits, activation, sample_weight=None):
        self.update_state(y_true, logits, sample_weight)  # softmax and sigmoid keep the order

    def get_config(self):
        return {**super().get_config(), "k": self.k}


class TopKCategoricalAccuracy(_TopK):
    """Whether the one-hot target's class is among the ``k`` highest predictions."""

    name = "top_k_categorical_accuracy"

    def _values(self, y_true, y_pred):
        return _in_top_k(y_true.reshape(y_pred.shape).argmax(-1), y_pred, self.k)


class SparseTopKCategoricalAccuracy(_TopK):
    """Whether the integer label is among the ``k`` highest predictions."""

    name = "sparse_top_k_categorical_accuracy"

    def _values(self, y_true, y_pred):
        return _in_top_k(_labels_like(y_true, y_pred), y_pred, self.k)
