"""keras.losses: each loss returns the batch mean and its gradient, computed by a fused op.

``loss.compute(y_true, y_pred, sample_weight=None)`` -> (loss, dL/dy_pred) on the model's output;
when the model ends in the softmax/sigmoid that the loss pairs with (``fuses``), the model hands
over the logits and ``compute_from_logits`` uses the stable fused op, as TF-Keras does.

With per-sample weights w, Keras's loss is sum_i(w_i * l_i) / N over the N per-sample losses l_i
(each the mean, or for cross-entropy the sum, over the last axis). The unweighted mean's
gradient has rows dl_i/N, so the weighted gradient is those rows times w_i; the weighted value
needs the l_i, which ``_per_sample`` gives (vectorized where the outputs are, for the built-in
losses).
"""

from __future__ import annotations

import numpy as np

from .. import _device, ops
from .. import tape as _tape
from . import serialization
from .tensors import eager

_EPSILON = 1e-7


_array = _device.as_array


def _float(y):
    return _array(y).astype(np.float32, copy=False)


def _like(y_true, y_pred, name):
    """y_true reshaped to y_pred's shape when only unit dimensions differ ((N,) vs (N, 1))."""
    y_true = _float(y_true)
    if y_true.shape != y_pred.shape:
        if y_true.size != y_pred.size:
            raise ValueError(
                f"{name}: y_true shape {y_true.shape} does not match y_pred shape {y_pred.shape}"
            )
        y_true = y_true.reshape(y_pred.shape)
    return y_true


# Keras 3's reductions; "auto" and "mean" mean sum_over_batch_size, and without sample weights
# so does "mean_with_sample_weight".
_REDUCTIONS = ("sum_over_batch_size", "sum", "none", "auto", "mean", "mean_with_sample_weight")


def _standard_reduction(reduction, owner):
    if reduction is None:
        return "none"
    if reduction not in _REDUCTIONS:
        raise ValueError(
            f"{owner}: reduction must be one of {', '.join(repr(r) for r in _REDUCTIONS)} "
            f"or None, got {reduction!r}"
        )
    return "sum_over_batch_size" if reduction in ("auto", "mean") else reduction


def _rows(y_pred) -> int:
    """How many per-sample values Keras's loss functions give (they reduce the last axis)."""
    return y_pred.size // y_pred.shape[-1] if y_pred.ndim >= 2 and y_pred.shape[-1] else 1


class Loss:
    """Base class. Subclasses implement _compute (and _compute_from_logits if they fuse): the
    mean over all elements and its gradient; compute applies the reduction. "sum" (and "none",
    which Keras's training sums) scale both by the number of per-sample values."""

    name = "loss"
    fuses = None  # the output activation whose logits this loss can take directly

    def __init__(self, name=None, reduction="sum_over_batch_size"):
        self.reduction = _standard_reduction(reduction, type(self).__name__)
        if name is not None:
            self.name = name

    def compute(self, y_true, y_pred, sample_weight=None):
        if sample_weight is not None:
            return self._weighted(self._compute, self._per_sample, y_true, y_pred, sample_weight)
        return self._reduced(self._compute(y_true, y_pred), y_pred)

    def compute_from_logits(self, y_true, logits, sample_weight=None):
        if sample_weight is not None:
            per_sample = self._per_sample_from_logits
            return self._weighted(
                self._compute_from_logits, per_sample, y_true, logits, sample_weight
            )
        return self._reduced(self._compute_from_logits(y_true, logits), logits)

    def _reduced(self, value_and_grad, y_pred):
        if self.reduction in ("sum_over_batch_size", "mean_with_sample_weight"):
            return value_and_grad
        value, grad = value_and_grad
        rows = _rows(y_pred)
        return value * rows, grad * np.float32(rows)

    def _weighted(self, compute, per_sample, y_true, y_pred, sample_weight):
        """Keras's reduction of the weighted per-sample losses w_i * l_i: their sum over the
        count of l_i ("sum_over_batch_size"), over the sum of the weights
        ("mean_with_sample_weight"), or alone ("sum", and "none" in training), with its
        gradient: the unweighted mean's rows dl_i / count times w_i * count / divisor.
        ``sample_weight`` holds one weight per sample (``_per_sample_weights``)."""
        shape = y_pred.shape
        if y_pred.ndim < 2:  # one value per sample: as (N, 1), whose losses are per sample
            y_pred, y_true = y_pred.reshape(-1, 1), _array(y_true).reshape(-1, 1)
        _, grad = compute(y_true, y_pred)
        values = per_sample(y_true, y_pred)
        xp = _device.array_module(grad)
        w = xp.asarray(sample_weight, dtype=np.float32)
        count = values.size
        total = float((values * w.reshape(w.shape + (1,) * (values.ndim - w.ndim))).sum())
        if self.reduction == "sum_over_batch_size":
            divisor = count
        elif self.reduction == "mean_with_sample_weight":
            divisor = float(w.sum())
        else:
            divisor = 1
        scale = count / divisor if divisor else 0.0
        value = total / divisor if divisor else 0.0
        w_grad = w.reshape(w.shape + (1,) * (grad.ndim - w.ndim))
        return value, (grad * w_grad * np.float32(scale)).reshape(shape)

    def _compute(self, y_true, y_pred):
        raise NotImplementedError

    def _compute_from_logits(self, y_true, logits):
        raise NotImplementedError

    def _per_sample_from_logits(self, y_true, logits):
        """The per-sample values of the loss of ``fuses``'s output, given its logits."""
        raise NotImplementedError

    def _per_sample(self, y_true, y_pred):
        """The per-sample values (reduction "none"): the mean of each row on its own, the last
        axis reduced as Keras's loss functions do."""
        if y_pred.ndim < 2:
            return np.float32(self._compute(y_true, y_pred)[0])
        rows = _rows(y_pred)
        flat_pred = y_pred.reshape(rows, 1, y_pred.shape[-1])
        flat_true = _array(y_true).reshape(rows, 1, -1)
        values = [float(self._compute(t, p)[0]) for t, p in zip(flat_true, flat_pred)]
        return np.asarray(values, np.float32).reshape(y_pred.shape[:-1])

    def prepare_targets(self, y, output_shape):
        """Converts a whole target array once per fit (dtype, shape); raises on bad targets."""
        y = _float(y)
        if output_shape is not None and y.shape[1:] != tuple(output_shape[1:]):
            if y.ndim >= 1 and np.prod(y.shape[1:], dtype=np.int64) == np.prod(
                [d for d in output_shape[1:] if d is not None], dtype=np.int64
            ):
                return y.reshape((y.shape[0],) + tuple(output_shape[1:]))
            raise ValueError(
                f"{self.name}: targets of shape {y.shape} do not match the model's "
                f"output shape {tuple(output_shape)}"
            )
        return y

    def __call__(self, y_true, y_pred, sample_weight=None):
        pred = _float(y_pred)
        if sample_weight is not None:
            sample_weight = _per_sample_weights(sample_weight, pred, self.name)
        if self.reduction == "none":
            values = self._per_sample(y_true, pred)
            if sample_weight is not None:
                values = values * sample_weight.reshape((-1,) + (1,) * (values.ndim - 1))
            return eager(values)
        value, grad = self.compute(y_true, pred, sample_weight)
        loss = eager(np.float32(_device.to_host(value)))
        if _tape._active:  # recorded on the caller's y_pred, with the (weighted) gradient
            _tape.record(
                self.name,
                [y_true, y_pred],
                [loss],
                lambda douts, need: [None, grad if float(douts[0]) == 1.0 else grad * douts[0]],
            )
        return loss

    def get_config(self) -> dict:
        reduction = None if self.reduction == "none" else self.reduction
        return {"name": self.name, "reduction": reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _per_sample_weights(sample_weight, y_pred, name):
    """A loss's ``sample_weight`` argument as one weight per sample of y_pred (a scalar or a
    (N,) / (N, 1) array), where y_pred is."""
    xp = _device.array_module(y_pred)
    w = xp.asarray(_array(sample_weight), dtype=np.float32)
    n = y_pred.shape[0] if y_pred.ndim else 1
    if w.ndim == 0:
        return w * xp.ones(n, np.float32)
    if w.ndim == 2 and w.shape[1] == 1:
        w = w[:, 0]
    if w.shape != (n,):
        raise ValueError(
            f"{name}: sample_weight must be a scalar or hold one weight per sample, "
            f"shape ({n},), got shape {tuple(w.shape)}"
        )
    return w


def _log_softmax(xp, logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=-1, keepdims=True))


class MeanSquaredError(Loss):
    name = "mean_squared_error"

    def _compute(self, y_true, y_pred):
        return ops.mean_squared_error(y_pred, _like(y_true, y_pred, self.name))

    def _per_sample(self, y_true, y_pred):
        d = y_pred - _like(y_true, y_pred, self.name)
        return (d * d).mean(axis=-1)


class BinaryCrossentropy(Loss):
    name = "binary_crossentropy"

    def __init__(
        self,
        from_logits=False,
        label_smoothing=0.0,
        name=None,
        reduction="sum_over_batch_size",
        axis=-1,
    ):
        super().__init__(name, reduction)
        self.label_smoothing = _smoothing(label_smoothing, type(self).__name__)
        if axis != -1:
            raise ValueError(f"BinaryCrossentropy: only axis=-1 is supported, got axis={axis!r}")
        self.from_logits = bool(from_logits)
        self.fuses = None if self.from_logits else "sigmoid"

    def _targets(self, y_true, y_pred):
        # Keras: targets move towards 0.5 by label_smoothing / 2.
        y_true = _like(y_true, y_pred, self.name)
        if not self.label_smoothing:
            return y_true
        return y_true * np.float32(1 - self.label_smoothing) + np.float32(
            0.5 * self.label_smoothing
        )

    def _compute(self, y_true, y_pred):
        y_true = self._targets(y_true, y_pred)
        if self.from_logits:
            return ops.sigmoid_binary_cross_entropy(y_pred, y_true)
        return ops.binary_cross_entropy(y_pred, y_true)

    def _compute_from_logits(self, y_true, logits):
        return ops.sigmoid_binary_cross_entropy(logits, self._targets(y_true, logits))

    def _per_sample(self, y_true, y_pred):
        if self.from_logits:
            return self._per_sample_from_logits(y_true, y_pred)
        y_true = self._targets(y_true, y_pred)
        xp = _device.array_module(y_pred)
        p = xp.clip(y_pred, _EPSILON, 1 - _EPSILON)
        return (-(y_true * xp.log(p) + (1 - y_true) * xp.log(1 - p))).mean(axis=-1)

    def _per_sample_from_logits(self, y_true, logits):
        y_true = self._targets(y_true, logits)
        xp = _device.array_module(logits)
        per_element = xp.maximum(logits, 0) - logits * y_true + xp.log1p(xp.exp(-abs(logits)))
        return per_element.mean(axis=-1)

    def get_config(self):
        return {
            **super().get_config(),
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
            "axis": -1,
        }


def _smoothing(label_smoothing, owner) -> float:
    value = float(label_smoothing)
    if not 0 <= value <= 1:
        raise ValueError(f"{owner}: label_smoothing must be in [0, 1], got {label_smoothing!r}")
    return value


def _clipped(probs):
    """Probabilities that no fused softmax produced, as Keras takes them: normalized, then
    clipped to [eps, 1 - eps]; their log are logits whose softmax is (about) them."""
    xp = _device.array_module(probs)
    return xp.clip(probs / probs.sum(axis=-1, keepdims=True), _EPSILON, 1 - _EPSILON)


def _from_probabilities(loss_on_logits, y_true, probs):
    """Cross-entropy of probabilities (``_clipped``): the fused op on log(p) gives the loss,
    and the chain rule through log gives dL/dp = dL/dlogits / p."""
    clipped = _clipped(probs)
    value, dlogits = loss_on_logits(_device.array_module(probs).log(clipped), y_true)
    return value, (dlogits / clipped).astype(np.float32)


def _flat_classes(x):
    return x.reshape(-1, x.shape[-1])


class CategoricalCrossentropy(Loss):
    name = "categorical_crossentropy"

    def __init__(
        self,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        name=None,
        reduction="sum_over_batch_size",
    ):
        super().__init__(name, reduction)
        if axis != -1:
            raise ValueError(
                f"CategoricalCrossentropy: only axis=-1 is supported, got axis={axis!r}"
            )
        self.label_smoothing = _smoothing(label_smoothing, type(self).__name__)
        self.from_logits = bool(from_logits)
        self.fuses = None if self.from_logits else "softmax"

    def _targets(self, y_true, y_pred):
        # Keras: each target row moves towards the uniform 1 / classes by label_smoothing.
        y_true = _like(y_true, y_pred, self.name)
        if not self.label_smoothing:
            return y_true
        uniform = self.label_smoothing / y_pred.shape[-1]
        return y_true * np.float32(1 - self.label_smoothing) + np.float32(uniform)

    def _on_logits(self, logits, y_true):
        value, grad = ops.softmax_cross_entropy(_flat_classes(logits), _flat_classes(y_true))
        return value, grad.reshape(logits.shape)

    def _compute_from_logits(self, y_true, logits):
        return self._on_logits(logits, self._targets(y_true, logits))

    def _compute(self, y_true, y_pred):
        y_true = self._targets(y_true, y_pred)
        if self.from_logits:
            return self._on_logits(y_pred, y_true)
        return _from_probabilities(self._on_logits, y_true, y_pred)

    def _per_sample_from_logits(self, y_true, logits):
        log_p = _log_softmax(_device.array_module(logits), logits)
        return -(self._targets(y_true, logits) * log_p).sum(axis=-1)

    def _per_sample(self, y_true, y_pred):
        if not self.from_logits:
            y_pred = _device.array_module(y_pred).log(_clipped(y_pred))
        return self._per_sample_from_logits(y_true, y_pred)

    def prepare_targets(self, y, output_shape):
        y = _float(y)
        if output_shape is not None and y.shape[1:] != tuple(output_shape[1:]):
            raise ValueError(
                f"{self.name}: targets of shape {y.shape} do not match the model's "
                f"output shape {tuple(output_shape)}; categorical_crossentropy "
                "expects one-hot targets (use sparse_categorical_crossentropy for "
                "integer labels, or keras.utils.to_categorical)"
            )
        return y

    def get_config(self):
        return {
            **super().get_config(),
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
            "axis": -1,
        }


class SparseCategoricalCrossentropy(Loss):
    name = "sparse_categorical_crossentropy"

    def __init__(
        self, from_logits=False, ignore_class=None, name=None, reduction="sum_over_batch_size"
    ):
        super().__init__(name, reduction)
        if ignore_class is not None:
            raise ValueError("SparseCategoricalCrossentropy: ignore_class is not supported")
        self.from_logits = bool(from_logits)
        self.fuses = None if self.from_logits else "softmax"

    @staticmethod
    def _labels(y_true, logits):
        labels = _array(y_true)
        if labels.dtype.kind not in "iu":
            labels = labels.astype(np.int64)
        return labels.reshape(-1)

    def _on_logits(self, logits, labels):
        value, grad = ops.sparse_softmax_cross_entropy(_flat_classes(logits), labels)
        return value, grad.reshape(logits.shape)

    def _compute_from_logits(self, y_true, logits):
        return self._on_logits(logits, self._labels(y_true, logits))

    def _compute(self, y_true, y_pred):
        labels = self._labels(y_true, y_pred)
        if self.from_logits:
            return self._on_logits(y_pred, labels)
        return _from_probabilities(self._on_logits, labels, y_pred)

    def _per_sample_from_logits(self, y_true, logits):
        xp = _device.array_module(logits)
        rows = _flat_classes(logits)
        labels = xp.asarray(self._labels(y_true, logits))
        log_p = _log_softmax(xp, rows)[xp.arange(len(rows)), labels]
        return -log_p.reshape(logits.shape[:-1])

    def _per_sample(self, y_true, y_pred):
        if not self.from_logits:
            y_pred = _device.array_module(y_pred).log(_clipped(y_pred))
        return self._per_sample_from_logits(y_true, y_pred)

    def prepare_targets(self, y, output_shape):
        y = np.asarray(y)
        if y.dtype.kind not in "biuf":
            raise ValueError(f"{self.name}: labels must be numeric, got dtype {y.dtype}")
        if output_shape is not None:
            want = tuple(output_shape[1:-1])
            if y.shape[1:] not in (want, want + (1,)):
                raise ValueError(
                    f"{self.name}: labels of shape {y.shape} do not match the "
                    f"model's output shape {tuple(output_shape)}; expected integer "
                    f"labels of shape {(y.shape[0],) + want}"
                )
            classes = output_shape[-1]
            if y.size and y.dtype.kind == "f" and not np.array_equal(y, np.floor(y)):
                raise ValueError(
                    f"{self.name}: labels must be integers, got values like "
                    f"{y.reshape(-1)[np.flatnonzero(y != np.floor(y))[0]]!r}"
                )
            if y.size and (y.min() < 0 or y.max() >= classes):
                bad = (y.min() if y.min() < 0 else y.max()).item()
                raise ValueError(
                    f"{self.name}: received a label value of {bad!r}, which is "
                    f"outside the valid range of [0, {classes}) for the model's "
                    f"{classes} output classes"
                )
        return y.astype(np.int64).reshape(
            y.shape[:1] + tuple(output_shape[1:-1]) if output_shape is not None else y.shape
        )

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits}


class MeanAbsoluteError(Loss):
    name = "mean_absolute_error"

    def _compute(self, y_true, y_pred):
        return ops.mean_absolute_error(y_pred, _like(y_true, y_pred, self.name))

    def _per_sample(self, y_true, y_pred):
        return abs(y_pred - _like(y_true, y_pred, self.name)).mean(axis=-1)


class Huber(Loss):
    """0.5 d**2 where |d| <= delta, else delta * |d| - 0.5 * delta**2, for d = y_pred - y_true."""

    name = "huber_loss"

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name=None):
        super().__init__(name, reduction)
        if isinstance(delta, bool) or not isinstance(delta, (int, float, np.floating)):
            raise TypeError(f"Huber: delta must be a number, got {delta!r}")
        if not delta > 0:
            raise ValueError(f"Huber: delta must be positive, got {delta!r}")
        self.delta = float(delta)

    def _compute(self, y_true, y_pred):
        return ops.huber(y_pred, _like(y_true, y_pred, self.name), self.delta)

    def _per_sample(self, y_true, y_pred):
        a = abs(y_pred - _like(y_true, y_pred, self.name))
        xp = _device.array_module(a)
        quadratic = xp.minimum(a, self.delta)
        return (0.5 * quadratic * quadratic + self.delta * (a - quadratic)).mean(axis=-1)

    def get_config(self):
        return {**super().get_config(), "delta": self.delta}


def _exact(y):
    """float64 inputs stay float64 (gradient checks); anything else becomes float32."""
    y = _array(y)
    return y if y.dtype == np.float64 else y.astype(np.float32, copy=False)


class _ComposedLoss(Loss):
    """A loss written as array expressions (NumPy or CuPy, where y_pred lives): _terms gives the
    values and their derivatives w.r.t. y_pred. ``reduce_last`` says how Keras's function
    reduces the last axis: "mean" or "sum" of element terms, or "row" when _terms already gives
    one value per row (with element-wise derivatives)."""

    reduce_last = "mean"

    def _terms(self, y_true, y_pred, xp):
        raise NotImplementedError

    def _evaluate(self, y_true, y_pred):
        y_pred = _exact(y_pred)
        y_true = _exact(y_true).astype(y_pred.dtype, copy=False)
        if y_true.shape != y_pred.shape:
            if y_true.size != y_pred.size:
                raise ValueError(
                    f"{self.name}: y_true shape {y_true.shape} does not match y_pred shape "
                    f"{y_pred.shape}"
                )
            y_true = y_true.reshape(y_pred.shape)
        values, grad = self._terms(y_true, y_pred, _device.array_module(y_pred))
        return y_pred, values, grad

    def _compute(self, y_true, y_pred):
        y_pred, values, grad = self._evaluate(y_true, y_pred)
        count = _rows(y_pred) if self.reduce_last == "sum" else values.size
        if count == 0 or y_pred.size == 0:
            return 0.0, grad
        value = float(values.sum(dtype=np.float64)) / count
        return value, (grad / count).astype(y_pred.dtype, copy=False)

    def _per_sample(self, y_true, y_pred):
        _, values, _ = self._evaluate(y_true, y_pred)
        if self.reduce_last == "row":
            return values
        return values.mean(axis=-1) if self.reduce_last == "mean" else values.sum(axis=-1)


class LogCosh(_ComposedLoss):
    name = "log_cosh"

    def _terms(self, y_true, y_pred, xp):
        d = y_pred - y_true
        # log(cosh(d)) = |d| + log1p(exp(-2|d|)) - log 2, which never overflows.
        a = xp.abs(d)
        return a + xp.log1p(xp.exp(-2 * a)) - np.log(2.0), xp.tanh(d)


class MeanAbsolutePercentageError(_ComposedLoss):
    name = "mean_absolute_percentage_error"

    def _terms(self, y_true, y_pred, xp):
        scale = 100 / xp.maximum(xp.abs(y_true), _EPSILON)
        d = y_pred - y_true
        return xp.abs(d) * scale, xp.sign(d) * scale


class MeanSquaredLogarithmicError(_ComposedLoss):
    name = "mean_squared_logarithmic_error"

    def _terms(self, y_true, y_pred, xp):
        clipped = xp.maximum(y_pred, _EPSILON)
        d = xp.log(clipped + 1) - xp.log(xp.maximum(y_true, _EPSILON) + 1)
        return d * d, xp.where(y_pred > _EPSILON, 2 * d / (clipped + 1), 0)


class Poisson(_ComposedLoss):
    name = "poisson"

    def _terms(self, y_true, y_pred, xp):
        return y_pred - y_true * xp.log(y_pred + _EPSILON), 1 - y_true / (y_pred + _EPSILON)


class KLDivergence(_ComposedLoss):
    """sum(y_true * log(y_true / y_pred)) over the last axis, both clipped to [1e-7, 1]."""

    name = "kl_divergence"
    reduce_last = "sum"

    def _terms(self, y_true, y_pred, xp):
        t = xp.clip(y_true, _EPSILON, 1)
        p = xp.clip(y_pred, _EPSILON, 1)
        inside = (y_pred >= _EPSILON) & (y_pred <= 1)
        return t * xp.log(t / p), xp.where(inside, -t / p, 0)


def _hinge_labels(y_true, xp):
    """Keras turns labels that are all 0 or 1 into -1 and 1; other labels stay as they are."""
    if bool(((y_true == 0) | (y_true == 1)).all()):
        return 2 * y_true - 1
    return y_true


class Hinge(_ComposedLoss):
    name = "hinge"

    def _terms(self, y_true, y_pred, xp):
        t = _hinge_labels(y_true, xp)
        margin = 1 - t * y_pred
        return xp.maximum(margin, 0), xp.where(margin > 0, -t, 0)


class SquaredHinge(_ComposedLoss):
    name = "squared_hinge"

    def _terms(self, y_true, y_pred, xp):
        t = _hinge_labels(y_true, xp)
        margin = xp.maximum(1 - t * y_pred, 0)
        return margin * margin, -2 * t * margin


class CategoricalHinge(_ComposedLoss):
    """max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0) per row."""

    name = "categorical_hinge"
    reduce_last = "row"

    def _terms(self, y_true, y_pred, xp):
        pos = (y_true * y_pred).sum(axis=-1)
        others = (1 - y_true) * y_pred
        hardest = others.argmax(axis=-1)
        neg = xp.take_along_axis(others, hardest[..., None], axis=-1)[..., 0]
        margin = neg - pos + 1
        active = (margin > 0)[..., None]
        d_neg = (xp.arange(y_pred.shape[-1]) == hardest[..., None]) * (1 - y_true)
        return xp.maximum(margin, 0), xp.where(active, d_neg - y_true, 0)


class CosineSimilarity(_ComposedLoss):
    """-sum(l2_normalize(y_true) * l2_normalize(y_pred)) over ``axis``; the norms are kept
    above 1e-7 as Keras's normalize does."""

    name = "cosine_similarity"
    reduce_last = "row"

    def __init__(self, axis=-1, reduction="sum_over_batch_size", name=None):
        super().__init__(name, reduction)
        if axis != -1:
            raise ValueError(f"CosineSimilarity: only axis=-1 is supported, got axis={axis!r}")
        self.axis = -1

    def _terms(self, y_true, y_pred, xp):
        t_norm = xp.maximum(xp.sqrt((y_true * y_true).sum(axis=-1, keepdims=True)), _EPSILON)
        p_sq = (y_pred * y_pred).sum(axis=-1, keepdims=True)
        p_norm = xp.maximum(xp.sqrt(p_sq), _EPSILON)
        t_unit, p_unit = y_true / t_norm, y_pred / p_norm
        cos = (t_unit * p_unit).sum(axis=-1, keepdims=True)
        # Where the norm was raised to 1e-7 it is a constant: no projection term.
        grad = -(t_unit - xp.where(p_norm > _EPSILON, p_unit * cos, 0)) / p_norm
        return -cos[..., 0], grad

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


def mean_squared_error(y_true, y_pred):
    return MeanSquaredError(reduction="none")(y_true, y_pred)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    return BinaryCrossentropy(from_logits, label_smoothing, reduction="none")(y_true, y_pred)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    return CategoricalCrossentropy(from_logits, label_smoothing, reduction="none")(y_true, y_pred)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    return SparseCategoricalCrossentropy(from_logits, reduction="none")(y_true, y_pred)


def mean_absolute_error(y_true, y_pred):
    return MeanAbsoluteError(reduction="none")(y_true, y_pred)


def huber(y_true, y_pred, delta=1.0):
    return Huber(delta, reduction="none")(y_true, y_pred)


def log_cosh(y_true, y_pred):
    return LogCosh(reduction="none")(y_true, y_pred)


def mean_absolute_percentage_error(y_true, y_pred):
    return MeanAbsolutePercentageError(reduction="none")(y_true, y_pred)


def mean_squared_logarithmic_error(y_true, y_pred):
    return MeanSquaredLogarithmicError(reduction="none")(y_true, y_pred)


def poisson(y_true, y_pred):
    return Poisson(reduction="none")(y_true, y_pred)


def kl_divergence(y_true, y_pred):
    return KLDivergence(reduction="none")(y_true, y_pred)


def hinge(y_true, y_pred):
    return Hinge(reduction="none")(y_true, y_pred)


def squared_hinge(y_true, y_pred):
    return SquaredHinge(reduction="none")(y_true, y_pred)


def categorical_hinge(y_true, y_pred):
    return CategoricalHinge(reduction="none")(y_true, y_pred)


def cosine_similarity(y_true, y_pred, axis=-1):
    return CosineSimilarity(axis, reduction="none")(y_true, y_pred)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kl_divergence

# Each loss function with its class: by function name (and Keras's short aliases) or object.
_FUNCTIONS = {
    mean_squared_error: MeanSquaredError,
    binary_crossentropy: BinaryCrossentropy,
    categorical_crossentropy: CategoricalCrossentropy,
    sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
    mean_absolute_error: MeanAbsoluteError,
    huber: Huber,
    log_cosh: LogCosh,
    mean_absolute_percentage_error: MeanAbsolutePercentageError,
    mean_squared_logarithmic_error: MeanSquaredLogarithmicError,
    poisson: Poisson,
    kl_divergence: KLDivergence,
    hinge: Hinge,
    squared_hinge: SquaredHinge,
    categorical_hinge: CategoricalHinge,
    cosine_similarity: CosineSimilarity,
}
_ALIASES = {
    **{f.__name__: cls for f, cls in _FUNCTIONS.items()},
    "mse": MeanSquaredError,
    "MSE": MeanSquaredError,
    "mae": MeanAbsoluteError,
    "MAE": MeanAbsoluteError,
    "mape": MeanAbsolutePercentageError,
    "MAPE": MeanAbsolutePercentageError,
    "msle": MeanSquaredLogarithmicError,
    "MSLE": MeanSquaredLogarithmicError,
    "kld": KLDivergence,
    "KLD": KLDivergence,
    "logcosh": LogCosh,
}
_CLASSES = {c.__name__: c for c in set(_FUNCTIONS.values())}


def get(identifier) -> Loss:
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str) and identifier in {**_ALIASES, **_CLASSES}:
        return {**_ALIASES, **_CLASSES}[identifier]()
    if identifier in _FUNCTIONS:
        return _FUNCTIONS[identifier]()
    raise ValueError(
        f"Unknown loss: {identifier!r}. Accepted losses: "
        f"{', '.join(repr(a) for a in _ALIASES)}, or a keras.losses.Loss instance."
    )


def serialize(loss: Loss) -> dict:
    return serialization.serialize_keras_object(loss, "keras.losses")


def deserialize(config, custom_objects=None):
    if isinstance(config, str):
        return get(config)
    return serialization.deserialize_keras_object(config, _CLASSES, custom_objects, what="loss")
