"""Regression metrics: (weighted) means of per-sample errors, as Keras's loss functions give them."""

from __future__ import annotations

import math

import numpy as np

from .. import losses
from .base import Metric, _round_to_float32


class MeanAbsoluteError(Metric):
    name = "mean_absolute_error"

    def _values(self, y_true, y_pred):
        return abs(y_pred - y_true.reshape(y_pred.shape))


class MeanSquaredError(Metric):
    name = "mean_squared_error"

    def _values(self, y_true, y_pred):
        diff = y_pred - y_true.reshape(y_pred.shape)
        return diff * diff


class RootMeanSquaredError(MeanSquaredError):
    """sqrt of the (weighted) mean squared error over everything seen."""

    name = "root_mean_squared_error"

    def _value(self, total, count=None):
        count = self._count if count is None else count
        return _round_to_float32(math.sqrt(total / count) if count else 0.0)


class _LossMetric(Metric):
    """The mean of a loss's per-sample values (its reduction="none" result)."""

    loss_class = None

    def _values(self, y_true, y_pred):
        loss = self.loss_class(reduction="none")
        return loss._per_sample(y_true, y_pred.astype(np.float32, copy=False))


class MeanAbsolutePercentageError(_LossMetric):
    name = "mean_absolute_percentage_error"
    loss_class = losses.MeanAbsolutePercentageError


class MeanSquaredLogarithmicError(_LossMetric):
    name = "mean_squared_logarithmic_error"
    loss_class = losses.MeanSquaredLogarithmicError


class CosineSimilarity(_LossMetric):
    """The mean cosine of the angle between targets and predictions (along the last axis)."""

    name = "cosine_similarity"
    loss_class = losses.CosineSimilarity

    def __init__(self, name=None, dtype=None, axis=-1):
        if axis != -1:
            raise ValueError(f"CosineSimilarity: only axis=-1 is supported, got axis={axis!r}")
        self.axis = -1
        super().__init__(name, dtype)

    def _values(self, y_true, y_pred):
        return -super()._values(y_true, y_pred)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
