"""MeanIoU: intersection over union per class from a running confusion matrix, averaged."""

from __future__ import annotations

import numpy as np

from .base import StateMetric


class MeanIoU(StateMetric):
    """The mean over classes of tp / (tp + fp + fn), from a (num_classes, num_classes)
    confusion matrix (rows the true classes). Class ids are given directly (``sparse_y_true``,
    ``sparse_y_pred``), or as scores whose argmax is taken; targets equal to ``ignore_class``
    are left out, as are ids outside [0, num_classes). Sample weights are truncated to ints, as
    Keras's integer confusion matrix does. Classes never seen nor predicted do not count in the
    mean."""

    name = "mean_io_u"

    def __init__(
        self,
        num_classes,
        name=None,
        dtype=None,
        ignore_class=None,
        sparse_y_true=True,
        sparse_y_pred=True,
        axis=-1,
    ):
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"MeanIoU: num_classes must be a positive int, got {num_classes!r}")
        self.num_classes = num_classes
        self.ignore_class = ignore_class
        self.sparse_y_true = bool(sparse_y_true)
        self.sparse_y_pred = bool(sparse_y_pred)
        self.axis = axis
        super().__init__(name, dtype)

    def _zero(self, xp):
        return xp.zeros((self.num_classes, self.num_classes))

    def _counts(self, y_true, y_pred, sample_weight, xp):
        if not self.sparse_y_true:
            y_true = y_true.argmax(axis=self.axis)
        if not self.sparse_y_pred:
            y_pred = y_pred.argmax(axis=self.axis)
        y_true = y_true.reshape(-1)
        y_pred = y_pred.reshape(-1)
        weight = xp.ones(y_true.shape, np.int64)
        if sample_weight is not None:
            # Keras keeps the matrix in int, so it truncates weights to ints too.
            weight = xp.broadcast_to(sample_weight.reshape(-1).astype(np.int64), y_true.shape)
        n = self.num_classes
        # Class ids outside [0, n) and targets equal to ignore_class are not counted.
        keep = (y_true >= 0) & (y_true < n) & (y_pred >= 0) & (y_pred < n)
        if self.ignore_class is not None:
            keep &= y_true != self.ignore_class
        y_true = xp.where(keep, y_true, 0).astype(np.int64)
        y_pred = xp.where(keep, y_pred, 0).astype(np.int64)
        weight = xp.where(keep, weight, 0).astype(np.float64)
        cells = xp.bincount(y_true * n + y_pred, weights=weight, minlength=n * n)
        return cells.reshape(n, n)

    def _result(self, state):
        tp = np.diag(state)
        denominator = state.sum(axis=0) + state.sum(axis=1) - tp
        valid = (denominator > 1e-9).sum()
        iou = np.where(denominator == 0, 0.0, tp / np.where(denominator == 0, 1, denominator))
        return iou.sum() / valid if valid else 0.0

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "ignore_class": self.ignore_class,
            "sparse_y_true": self.sparse_y_true,
            "sparse_y_pred": self.sparse_y_pred,
            "axis": self.axis,
        }
