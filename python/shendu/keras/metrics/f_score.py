"""F-scores per class over thresholded predictions: FBetaScore and F1Score."""

from __future__ import annotations

import numpy as np

from .base import StateMetric

_EPSILON = 1e-7
_AVERAGES = (None, "micro", "macro", "weighted")


class FBetaScore(StateMetric):
    """(1 + beta**2) * precision * recall / (beta**2 * precision + recall) per class, over
    y_pred thresholded at ``threshold`` (None: each row's highest score). ``average``: None
    (one score per class), "micro" (counts pooled over classes), "macro" (mean of the class
    scores) or "weighted" (weighted by each class's true count)."""

    name = "fbeta_score"

    def __init__(self, average=None, beta=1.0, threshold=None, name=None, dtype=None):
        if average not in _AVERAGES:
            raise ValueError(
                f"{type(self).__name__}: average must be one of None, 'micro', 'macro', "
                f"'weighted', got {average!r}"
            )
        if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not beta > 0:
            raise ValueError(f"{type(self).__name__}: beta must be a positive float, got {beta!r}")
        if threshold is not None and not (
            isinstance(threshold, (int, float)) and 0 < threshold <= 1
        ):
            raise ValueError(
                f"{type(self).__name__}: threshold must be a float in (0, 1], got {threshold!r}"
            )
        self.average = average
        self.beta = float(beta)
        self.threshold = threshold
        super().__init__(name, dtype)

    def _zero(self, xp):
        return xp.zeros((4,) if self.average == "micro" else (4, 1))

    def _counts(self, y_true, y_pred, sample_weight, xp):
        if y_pred.ndim != 2 or y_true.ndim != 2:
            raise ValueError(
                f"{self.name}: y_true and y_pred must be 2-D (samples, classes), got "
                f"{y_true.shape} and {y_pred.shape}"
            )
        y_pred = y_pred.astype(np.float64)
        y_true = y_true.astype(np.float64)
        if self.threshold is None:
            y_pred = (y_pred >= y_pred.max(axis=-1, keepdims=True)).astype(np.float64)
        else:
            y_pred = (y_pred > self.threshold).astype(np.float64)
        parts = [y_pred * y_true, y_pred * (1 - y_true), (1 - y_pred) * y_true, y_true]
        if sample_weight is not None:
            parts = [p * sample_weight.reshape(-1, 1) for p in parts]
        axis = None if self.average == "micro" else 0
        return xp.stack([p.sum(axis=axis) for p in parts])

    def _result(self, state):
        tp, fp, fn, support = state
        precision = tp / (tp + fp + _EPSILON)
        recall = tp / (tp + fn + _EPSILON)
        b2 = self.beta**2
        score = (1 + b2) * (precision * recall) / (b2 * precision + recall + _EPSILON)
        if self.average == "weighted":
            return (score * support / (support.sum() + _EPSILON)).sum()
        if self.average is not None:
            return score.mean()
        return score

    def get_config(self):
        return {
            **super().get_config(),
            "average": self.average,
            "beta": self.beta,
            "threshold": self.threshold,
        }


class F1Score(FBetaScore):
    """FBetaScore with beta = 1: the harmonic mean of precision and recall."""

    name = "f1_score"

    def __init__(self, average=None, threshold=None, name=None, dtype=None):
        super().__init__(average, 1.0, threshold, name, dtype)

    def get_config(self):
        config = super().get_config()
        del config["beta"]
        return config
