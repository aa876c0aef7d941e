"""keras.metrics: running means over an epoch (accuracies, mae, mse).

The counting runs where the model's outputs are (NumPy or CuPy, ``xp = array_module(y_pred)``) and
the running total stays there: on the GPU it is a 0-d CuPy array, read back by ``result()`` or by
the trainer's logs (one copy for all metrics), never per batch."""

from __future__ import annotations

import math
import struct

import numpy as np

from .. import _device
from . import activations, serialization
from . import losses as losses_module
from .tensors import eager

_array = _device.as_array
_FLOAT32 = struct.Struct("f")


def _round_to_float32(value) -> float:
    """float(np.float32(value)) in under half the time (250 vs 550 ns; a tiny model's
    train_on_batch, ~7 us, logs two values): the same round to nearest, and a finite value
    beyond float32's range becomes inf, as NumPy gives it (Python < 3.11 raises instead)."""
    try:
        return _FLOAT32.unpack(_FLOAT32.pack(value))[0]
    except OverflowError:
        return math.copysign(math.inf, value)


class Metric:
    name = "metric"

    def __init__(self, name=None, dtype=None):
        if name is not None:
            self.name = name
        self.reset_state()

    def reset_state(self) -> None:
        self._total = 0.0
        self._count = 0.0

    def _add(self, values) -> None:
        values = _array(values)
        self._total += values.sum(dtype=np.float64)  # stays on the device: no wait
        self._count += values.size

    def _add_weighted(self, values, sample_weight) -> None:
        """Keras's weighted mean: each sample's value (the mean over its non-batch axes) times
        its weight, over the sum of the weights."""
        values = _array(values)
        xp = _device.array_module(values)
        w = xp.asarray(_array(sample_weight), dtype=np.float64).reshape(-1)
        if values.ndim > 1:
            values = values.reshape(len(values), -1).mean(axis=1, dtype=np.float64)
        if values.shape != w.shape:
            raise ValueError(
                f"{self.name}: sample_weight must hold one weight per sample, shape "
                f"({len(values)},), got {w.size} weights"
            )
        self._total += (values * w).sum()
        self._count += w.sum()

    def _add_total(self, total, count) -> None:
        """Adds a sum over count values computed elsewhere (the fused train step's counts)."""
        self._total += total
        self._count += count

    def _restart(self, total, count) -> float:
        """reset_state(), _add_total(total, count), then the logged value, in one call (the
        fused train_on_batch). 0.0 + keeps what the two would store (a float; -0.0 becomes 0.0)."""
        self._total = 0.0 + total
        self._count = 0.0 + count
        return self._value(self._total)

    def _value(self, total, count=None) -> float:
        """float(result()) given the running total read back to the host: what logs hold.
        ``count`` replaces this metric's own (a total and count summed over replicas)."""
        count = self._count if count is None else count
        return _round_to_float32(total / count if count else 0.0)

    def update_state(self, y_true, y_pred, sample_weight=None):
        self._add_values(self._values(_array(y_true), _array(y_pred)), sample_weight)

    def _add_values(self, values, sample_weight) -> None:
        if sample_weight is None:
            self._add(values)
        else:
            self._add_weighted(values, sample_weight)

    def update_from_logits(self, y_true, logits, activation, sample_weight=None) -> None:
        """update_state for a model whose output activation was left to the fused loss."""
        self.update_state(y_true, activations.forward(activation, logits), sample_weight)

    def _values(self, y_true, y_pred):
        raise NotImplementedError

    def __call__(self, *args, **kwargs):
        """update_state(*args, **kwargs), then the result (as Keras)."""
        self.update_state(*args, **kwargs)
        return self.result()

    def result(self):
        return eager(np.float32(self._value(*_device.read_back([self._total]))))

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": "float32"}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class Mean(Metric):
    name = "mean"

    def update_state(self, values, sample_weight=None):
        values = _array(values).astype(np.float64)
        if sample_weight is None:
            self._add(values)
        else:  # a weighted scalar: fit's loss tracker weighs each batch by its size
            weight = float(sample_weight)
            self._total += values.sum() * weight
            self._count += values.size * weight


def _labels_like(y_true, y_pred):
    """Sparse labels as a flat int vector matching y_pred's leading dimensions."""
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
        self._add_values((logits > cut) == (y_true.reshape(logits.shape) > 0.5), sample_weight)

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


class MeanAbsoluteError(Metric):
    name = "mean_absolute_error"

    def _values(self, y_true, y_pred):
        return abs(y_pred - y_true.reshape(y_pred.shape))


class MeanSquaredError(Metric):
    name = "mean_squared_error"

    def _values(self, y_true, y_pred):
        diff = y_pred - y_true.reshape(y_pred.shape)
        return diff * diff


_ALIASES = {
    "binary_accuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "mean_absolute_error": MeanAbsoluteError,
    "mae": MeanAbsoluteError,
    "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError,
}
_CLASSES = {
    c.__name__: c
    for c in (
        Accuracy,
        BinaryAccuracy,
        CategoricalAccuracy,
        SparseCategoricalAccuracy,
        MeanAbsoluteError,
        MeanSquaredError,
        Mean,
    )
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
    if isinstance(identifier, str) and identifier in _CLASSES:
        return _CLASSES[identifier]()
    raise ValueError(
        f"Unknown metric: {identifier!r}. Accepted metrics: "
        f"{', '.join(repr(a) for a in ACCEPTED)}, or a keras.metrics.Metric "
        "instance."
    )


def check(identifier) -> None:
    """Fails early (at compile) on a metric name that get() would refuse."""
    if isinstance(identifier, Metric) or identifier in ACCEPTED or identifier in _CLASSES:
        return
    get(identifier)


def serialize(metric: Metric) -> dict:
    return serialization.serialize_keras_object(metric, "keras.metrics")


def deserialize(config, custom_objects=None):
    if isinstance(config, str):
        return config
    return serialization.deserialize_keras_object(config, _CLASSES, custom_objects, what="metric")


def binary_accuracy(y_true, y_pred, threshold=0.5):
    return eager(
        BinaryAccuracy(threshold=threshold)
        ._values(_array(y_true), _array(y_pred))
        .astype(np.float32)
    )


def sparse_categorical_accuracy(y_true, y_pred):
    return eager(
        SparseCategoricalAccuracy()._values(_array(y_true), _array(y_pred)).astype(np.float32)
    )


def categorical_accuracy(y_true, y_pred):
    return eager(CategoricalAccuracy()._values(_array(y_true), _array(y_pred)).astype(np.float32))
