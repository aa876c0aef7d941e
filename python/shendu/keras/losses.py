"""keras.losses: each loss returns the batch mean and its gradient, computed by a fused op.

``loss.compute(y_true, y_pred, sample_weight=None)`` -> (loss, dL/dy_pred) on the model's output;
when the model ends in the softmax/sigmoid that the loss pairs with (``fuses``), the model hands
over the logits and ``compute_from_logits`` uses the stable fused op, as TF-Keras does.

With per-sample weights w, Keras's loss is sum_i(w_i * l_i) / N over the N per-sample losses l_i
(each the mean, or for cross-entropy the sum, over the last axis). The fused ops give the
unweighted mean's gradient, whose rows are dl_i/N, so the weighted gradient is those rows times
w_i; the weighted value needs the l_i, which each loss computes where the outputs are.
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


def _weighted(result, per_sample, sample_weight):
    """(sum(w * l) / l.size, w * grad) from the fused op's (mean, grad) and the per-sample
    losses l (shape: the output's without its last axis); (mean, grad) unweighted."""
    if sample_weight is None:
        return result
    _, grad = result
    xp = _device.array_module(grad)
    w = xp.asarray(sample_weight, dtype=np.float32)
    w_rows = w.reshape(w.shape + (1,) * (per_sample.ndim - w.ndim))
    value = float((per_sample * w_rows).sum()) / per_sample.size if per_sample.size else 0.0
    return value, grad * w.reshape(w.shape + (1,) * (grad.ndim - w.ndim))


def _last_axis_mean(values):
    return values.mean(axis=-1) if values.ndim > 1 else values


def _log_softmax(xp, logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=-1, keepdims=True))


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


class Loss:
    """Base class. Subclasses implement compute (and compute_from_logits if they fuse)."""

    name = "loss"
    fuses = None  # the output activation whose logits this loss can take directly

    def __init__(self, name=None, reduction="sum_over_batch_size"):
        if reduction not in ("sum_over_batch_size", "auto"):
            raise ValueError(
                f"{type(self).__name__}: only reduction='sum_over_batch_size' is "
                f"supported, got {reduction!r}"
            )
        if name is not None:
            self.name = name

    def compute(self, y_true, y_pred, sample_weight=None):
        raise NotImplementedError

    def compute_from_logits(self, y_true, logits, sample_weight=None):
        raise NotImplementedError

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
        preds = _float(y_pred)  # y_pred itself stays what the tape links the loss to
        if sample_weight is not None:
            sample_weight = _per_sample_weights(sample_weight, preds, self.name)
        value, grad = self.compute(y_true, preds, sample_weight)
        loss = eager(np.float32(_device.to_host(value)))
        if _tape._active:  # recorded with the (weighted) gradient the loss computed anyway
            _tape.record(
                self.name,
                [y_true, y_pred],
                [loss],
                lambda douts, need: [None, grad if float(douts[0]) == 1.0 else grad * douts[0]],
            )
        return loss

    def get_config(self) -> dict:
        return {"name": self.name, "reduction": "sum_over_batch_size"}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _per_sample_weights(sample_weight, y_pred, name):
    """A loss's ``sample_weight`` argument as one weight per sample of y_pred (a scalar or a
    (N,) / (N, 1) array), where y_pred is."""
    w = _device.array_module(y_pred).asarray(_array(sample_weight), dtype=np.float32)
    n = y_pred.shape[0] if y_pred.ndim else 1
    if w.ndim == 0:
        return w * _device.array_module(y_pred).ones(n, np.float32)
    if w.ndim == 2 and w.shape[1] == 1:
        w = w[:, 0]
    if w.shape != (n,):
        raise ValueError(
            f"{name}: sample_weight must be a scalar or hold one weight per sample, "
            f"shape ({n},), got shape {tuple(w.shape)}"
        )
    return w


class MeanSquaredError(Loss):
    name = "mean_squared_error"

    def compute(self, y_true, y_pred, sample_weight=None):
        y_true = _like(y_true, y_pred, self.name)
        result = ops.mean_squared_error(y_pred, y_true)
        if sample_weight is None:
            return result
        d = y_pred - y_true
        return _weighted(result, _last_axis_mean(d * d), sample_weight)


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
        if label_smoothing:
            raise ValueError("BinaryCrossentropy: label_smoothing is not supported by shendu")
        self.from_logits = bool(from_logits)
        self.fuses = None if self.from_logits else "sigmoid"

    def compute(self, y_true, y_pred, sample_weight=None):
        if self.from_logits:
            return self.compute_from_logits(y_true, y_pred, sample_weight)
        y_true = _like(y_true, y_pred, self.name)
        result = ops.binary_cross_entropy(y_pred, y_true)
        if sample_weight is None:
            return result
        xp = _device.array_module(y_pred)
        p = xp.clip(y_pred, _EPSILON, 1 - _EPSILON)
        per_element = -(y_true * xp.log(p) + (1 - y_true) * xp.log(1 - p))
        return _weighted(result, _last_axis_mean(per_element), sample_weight)

    def compute_from_logits(self, y_true, logits, sample_weight=None):
        y_true = _like(y_true, logits, self.name)
        result = ops.sigmoid_binary_cross_entropy(logits, y_true)
        if sample_weight is None:
            return result
        xp = _device.array_module(logits)
        per_element = xp.maximum(logits, 0) - logits * y_true + xp.log1p(xp.exp(-abs(logits)))
        return _weighted(result, _last_axis_mean(per_element), sample_weight)

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits}


def _from_probabilities(loss_on_logits, y_true, probs, sample_weight):
    """Cross-entropy of probabilities that no fused softmax produced: Keras normalizes them and
    clips to [eps, 1 - eps]; log(p) are logits whose softmax is p / sum(p), so the fused op gives
    the loss, and the chain rule through log gives dL/dp = dL/dlogits / p."""
    xp = _device.array_module(probs)
    clipped = xp.clip(probs / probs.sum(axis=-1, keepdims=True), _EPSILON, 1 - _EPSILON)
    value, dlogits = loss_on_logits(xp.log(clipped), y_true, sample_weight)
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
        if label_smoothing or axis != -1:
            raise ValueError(
                "CategoricalCrossentropy: label_smoothing and axis != -1 are not "
                "supported by shendu"
            )
        self.from_logits = bool(from_logits)
        self.fuses = None if self.from_logits else "softmax"

    def _on_logits(self, logits, y_true, sample_weight=None):
        value, grad = ops.softmax_cross_entropy(_flat_classes(logits), _flat_classes(y_true))
        result = value, grad.reshape(logits.shape)
        if sample_weight is None:
            return result
        log_p = _log_softmax(_device.array_module(logits), logits)
        return _weighted(result, -(y_true * log_p).sum(axis=-1), sample_weight)

    def compute_from_logits(self, y_true, logits, sample_weight=None):
        return self._on_logits(logits, _like(y_true, logits, self.name), sample_weight)

    def compute(self, y_true, y_pred, sample_weight=None):
        y_true = _like(y_true, y_pred, self.name)
        if self.from_logits:
            return self._on_logits(y_pred, y_true, sample_weight)
        return _from_probabilities(self._on_logits, y_true, y_pred, sample_weight)

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
        return {**super().get_config(), "from_logits": self.from_logits}


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

    def _on_logits(self, logits, labels, sample_weight=None):
        rows = _flat_classes(logits)
        value, grad = ops.sparse_softmax_cross_entropy(rows, labels)
        result = value, grad.reshape(logits.shape)
        if sample_weight is None:
            return result
        xp = _device.array_module(logits)
        log_p = _log_softmax(xp, rows)[xp.arange(len(rows)), labels]
        return _weighted(result, -log_p.reshape(logits.shape[:-1]), sample_weight)

    def compute_from_logits(self, y_true, logits, sample_weight=None):
        return self._on_logits(logits, self._labels(y_true, logits), sample_weight)

    def compute(self, y_true, y_pred, sample_weight=None):
        labels = self._labels(y_true, y_pred)
        if self.from_logits:
            return self._on_logits(y_pred, labels, sample_weight)
        return _from_probabilities(self._on_logits, labels, y_pred, sample_weight)

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


def mean_squared_error(y_true, y_pred):
    return MeanSquaredError()(y_true, y_pred)


def binary_crossentropy(y_true, y_pred, from_logits=False):
    return BinaryCrossentropy(from_logits=from_logits)(y_true, y_pred)


def categorical_crossentropy(y_true, y_pred, from_logits=False):
    return CategoricalCrossentropy(from_logits=from_logits)(y_true, y_pred)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    return SparseCategoricalCrossentropy(from_logits=from_logits)(y_true, y_pred)


mse = MSE = mean_squared_error

_ALIASES = {
    "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError,
    "MSE": MeanSquaredError,
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
}
_CLASSES = {
    c.__name__: c
    for c in (
        MeanSquaredError,
        BinaryCrossentropy,
        CategoricalCrossentropy,
        SparseCategoricalCrossentropy,
    )
}
_FUNCTIONS = {
    mean_squared_error: MeanSquaredError,
    binary_crossentropy: BinaryCrossentropy,
    categorical_crossentropy: CategoricalCrossentropy,
    sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
}


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
