"""Metrics over confusion counts at thresholds: TruePositives, FalsePositives, TrueNegatives,
FalseNegatives, Precision, Recall and AUC.

A prediction counts as positive at threshold t when y_pred > t; a target is positive when
non-zero. The state is one array of weighted counts, rows (tp, fp, tn, fn) by threshold (by
threshold and label for AUC's multi_label), counted with one sort of the thresholds: each
prediction's count of thresholds below it is a histogram index, and the counts above each
threshold are suffix sums of the histograms.
"""

from __future__ import annotations

import numpy as np

from .base import StateMetric

_EPSILON = 1e-7
# What Keras puts in place of predictions outside the top k (so no threshold passes them).
_NEG_INF = -1e10
_TP, _FP, _TN, _FN = range(4)


def _thresholds(thresholds, default, owner):
    if thresholds is None:
        thresholds = [default]
    values = np.atleast_1d(np.asarray(thresholds, np.float64))
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"{owner}: thresholds must be a number or a list, got {thresholds!r}")
    if np.any((values < 0) | (values > 1)) and not (values.size == 1 and values[0] == default):
        raise ValueError(f"{owner}: thresholds must be in [0, 1], got {thresholds!r}")
    return values


def _top_k_only(y_pred, k, xp):
    """y_pred with everything but each row's k highest replaced by -1e10 (ties: first wins)."""
    order = xp.argsort(-y_pred, axis=-1, kind="stable")[..., :k]
    keep = xp.zeros(y_pred.shape, bool)
    xp.put_along_axis(keep, order, True, axis=-1)
    return xp.where(keep, y_pred, _NEG_INF)


def _per_sample(weight, y_pred, xp):
    """Weights of shape (N,) (or any leading part of y_pred's shape) over y_pred's shape, as
    Keras broadcasts per-sample weights over the trailing axes."""
    extra = y_pred.ndim - weight.ndim
    return xp.broadcast_to(weight.reshape(weight.shape + (1,) * max(extra, 0)), y_pred.shape)


def confusion_counts(y_true, y_pred, thresholds, sample_weight, xp, per_label=False):
    """(4, T) weighted counts (tp, fp, tn, fn) of y_pred > thresholds[j] against y_true != 0,
    or (4, T, L) counted per label (the trailing axes of a (N, ...) y_pred) with per_label."""
    y_pred = y_pred.astype(np.float32, copy=False)
    if y_true.size == y_pred.size and y_true.shape != y_pred.shape:
        y_true = y_true.reshape(y_pred.shape)
    positive = y_true != 0
    weight = xp.ones(y_pred.shape, np.float64)
    if sample_weight is not None:
        weight = weight * _per_sample(sample_weight, y_pred, xp)
    order = np.argsort(thresholds, kind="stable")
    cuts = xp.asarray(thresholds[order].astype(np.float32))
    count = len(thresholds)
    # Predictions above exactly `index` of the sorted thresholds (NaN above none).
    index = xp.searchsorted(cuts, y_pred, side="left")
    index = xp.where(xp.isnan(y_pred), 0, index)
    labels = 1
    if per_label:
        labels = int(np.prod(y_pred.shape[1:]))
        index = index.reshape(-1, labels) + xp.arange(labels) * (count + 1)
    index = index.reshape(-1)
    pos_w = xp.where(positive, weight, 0).reshape(-1)
    neg_w = xp.where(positive, 0, weight).reshape(-1)
    bins = labels * (count + 1)

    def above(w):
        hist = xp.bincount(index, weights=w, minlength=bins).reshape(labels, count + 1)
        # counts above threshold j: the histogram bins j + 1 and up.
        suffix = xp.cumsum(hist[:, ::-1], axis=1)[:, ::-1]
        return suffix[:, 1:].T, hist.sum(axis=1)

    tp, pos_total = above(pos_w)
    fp, neg_total = above(neg_w)
    counts = xp.stack([tp, fp, neg_total - fp, pos_total - tp])  # (4, T sorted, L)
    unsorted = xp.empty_like(counts)
    unsorted[:, xp.asarray(order)] = counts
    return unsorted if per_label else unsorted[..., 0]


class _ConfusionMetric(StateMetric):
    """Counts at ``thresholds`` (default 0.5); with ``top_k`` only each row's k highest
    predictions may count as positive, with ``class_id`` only that class's column counts."""

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        owner = type(self).__name__
        for arg, value in (("top_k", top_k), ("class_id", class_id)):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0
            ):
                raise ValueError(f"{owner}: {arg} must be a non-negative int, got {value!r}")
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        self.thresholds = _thresholds(thresholds, self._default_threshold(), owner)
        super().__init__(name, dtype)

    def _default_threshold(self):
        return 0.5

    def _zero(self, xp):
        return xp.zeros((4, len(self.thresholds)))

    def _counts(self, y_true, y_pred, sample_weight, xp):
        y_pred = y_pred.astype(np.float32, copy=False)
        if y_true.size == y_pred.size:
            y_true = y_true.reshape(y_pred.shape)
        if self.top_k is not None:
            y_pred = _top_k_only(y_pred, self.top_k, xp)
        if self.class_id is not None:
            if y_pred.ndim < 2:
                raise ValueError(
                    f"{self.name}: class_id needs y_pred of shape (samples, classes), got "
                    f"{y_pred.shape}"
                )
            y_true, y_pred = y_true[..., self.class_id], y_pred[..., self.class_id]
        return confusion_counts(y_true, y_pred, self.thresholds, sample_weight, xp)

    def _scalar_if_one(self, values):
        return values[0] if len(self.thresholds) == 1 else values

    def get_config(self):
        return {
            **super().get_config(),
            "thresholds": self.init_thresholds,
            "top_k": self.top_k,
            "class_id": self.class_id,
        }


class _CountMetric(_ConfusionMetric):
    row = None

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(thresholds, name=name, dtype=dtype)

    def _result(self, state):
        return self._scalar_if_one(state[self.row])

    def get_config(self):
        config = super().get_config()
        return {k: v for k, v in config.items() if k not in ("top_k", "class_id")}


class TruePositives(_CountMetric):
    name = "true_positives"
    row = _TP


class FalsePositives(_CountMetric):
    name = "false_positives"
    row = _FP


class TrueNegatives(_CountMetric):
    name = "true_negatives"
    row = _TN


class FalseNegatives(_CountMetric):
    name = "false_negatives"
    row = _FN


def _ratio(a, b):
    """a / b, 0 where b is 0 (Keras's divide_no_nan)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b == 0, 0.0, a / np.where(b == 0, 1, b))


class Precision(_ConfusionMetric):
    """tp / (tp + fp) at each threshold (a number for one threshold)."""

    name = "precision"

    def _default_threshold(self):
        return 0.5 if self.top_k is None else _NEG_INF

    def _result(self, state):
        return self._scalar_if_one(_ratio(state[_TP], state[_TP] + state[_FP]))


class Recall(Precision):
    """tp / (tp + fn) at each threshold (a number for one threshold)."""

    name = "recall"

    def _result(self, state):
        return self._scalar_if_one(_ratio(state[_TP], state[_TP] + state[_FN]))


_CURVES = ("ROC", "PR")
_SUMMATIONS = ("interpolation", "minoring", "majoring")


class AUC(StateMetric):
    """Area under the ROC or precision-recall curve, approximated with ``num_thresholds``
    evenly spaced thresholds (or the given ``thresholds``) plus one just below 0 and one just
    above 1, summed as Keras does: trapezoids for ROC, the Davis-Goadrich interpolation for PR
    with ``summation_method="interpolation"``, lower or upper rectangles for "minoring" and
    "majoring". With ``multi_label`` each label's area is computed on its own, then averaged
    (weighted by ``label_weights``)."""

    name = "auc"

    def __init__(
        self,
        num_thresholds=200,
        curve="ROC",
        summation_method="interpolation",
        name=None,
        dtype=None,
        thresholds=None,
        multi_label=False,
        num_labels=None,
        label_weights=None,
        from_logits=False,
    ):
        curve = curve.upper() if isinstance(curve, str) else curve
        if curve not in _CURVES:
            raise ValueError(f"AUC: curve must be 'ROC' or 'PR', got {curve!r}")
        method = summation_method.lower() if isinstance(summation_method, str) else None
        if method not in _SUMMATIONS:
            raise ValueError(
                "AUC: summation_method must be one of 'interpolation', 'minoring', "
                f"'majoring', got {summation_method!r}"
            )
        if thresholds is not None:
            inner = np.sort(_thresholds(thresholds, None, "AUC"))
            num_thresholds = len(inner) + 2
        else:
            if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, int):
                raise ValueError(f"AUC: num_thresholds must be an int, got {num_thresholds!r}")
            if num_thresholds <= 1:
                raise ValueError(f"AUC: num_thresholds must be > 1, got {num_thresholds!r}")
            inner = np.asarray(
                [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            )
        self.num_thresholds = num_thresholds
        self.thresholds = np.concatenate([[0.0 - _EPSILON], inner, [1.0 + _EPSILON]])
        self._init_thresholds = thresholds
        self.curve = curve
        self.summation_method = method
        self.multi_label = bool(multi_label)
        self.num_labels = num_labels
        self.label_weights = None if label_weights is None else np.asarray(label_weights)
        self.from_logits = bool(from_logits)
        super().__init__(name, dtype)

    def _zero(self, xp):
        shape = (4, self.num_thresholds) + ((self.num_labels or 1,) if self.multi_label else ())
        return xp.zeros(shape)

    def _counts(self, y_true, y_pred, sample_weight, xp):
        y_pred = y_pred.astype(np.float32, copy=False)
        if self.from_logits:
            y_pred = 1 / (1 + xp.exp(-y_pred))
        if y_true.size == y_pred.size:
            y_true = y_true.reshape(y_pred.shape)
        weight = sample_weight
        if self.label_weights is not None and not self.multi_label:
            # Keras: each label's predictions weigh label_weights[label].
            lw = xp.broadcast_to(xp.asarray(self.label_weights, np.float64), y_pred.shape)
            weight = lw if weight is None else _per_sample(weight, y_pred, xp) * lw
        return confusion_counts(
            y_true, y_pred, self.thresholds, weight, xp, per_label=self.multi_label
        )

    def _result(self, state):
        tp, fp, tn, fn = state
        if self.curve == "PR" and self.summation_method == "interpolation":
            areas = self._interpolated_pr(tp, fp, fn)
        else:
            recall = _ratio(tp, tp + fn)
            if self.curve == "ROC":
                x, y = _ratio(fp, fp + tn), recall
            else:
                x, y = recall, _ratio(tp, tp + fp)
            if self.summation_method == "interpolation":
                heights = (y[:-1] + y[1:]) / 2
            elif self.summation_method == "minoring":
                heights = np.minimum(y[:-1], y[1:])
            else:
                heights = np.maximum(y[:-1], y[1:])
            areas = ((x[:-1] - x[1:]) * heights).sum(axis=0)
        if not self.multi_label:
            return areas
        if self.label_weights is None:
            return areas.mean()
        weights = self.label_weights.astype(np.float64)
        return _ratio((areas * weights).sum(), weights.sum())

    @staticmethod
    def _interpolated_pr(tp, fp, fn):
        """Davis & Goadrich (2006): precision interpolated between thresholds along the
        curve of true positives against predicted positives."""
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = _ratio(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        both = (p[:-1] > 0) & (p[1:] > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            p_ratio = np.where(both, _ratio(p[:-1], np.maximum(p[1:], 0)), 1.0)
            log_ratio = np.log(np.where(p_ratio > 0, p_ratio, 1.0))
        increments = _ratio(slope * (dtp + intercept * log_ratio), np.maximum(tp[1:] + fn[1:], 0))
        return increments.sum(axis=0)

    def get_config(self):
        return {
            **super().get_config(),
            "num_thresholds": self.num_thresholds,
            "curve": self.curve,
            "summation_method": self.summation_method,
            "thresholds": self._init_thresholds,
            "multi_label": self.multi_label,
            "num_labels": self.num_labels,
            "label_weights": None if self.label_weights is None else self.label_weights.tolist(),
            "from_logits": self.from_logits,
        }
