"""The metric base classes: a running (weighted) total and count, or an array of counts.

The counting runs where the model's outputs are (NumPy or CuPy, ``xp = array_module(y_pred)``) and
the running total stays there: on the GPU it is a 0-d CuPy array (or, for the confusion-count
metrics, a CuPy array of counts), read back by ``result()`` or by the trainer's logs (one copy for
all metrics), never per batch. ``_value(total, count)`` turns totals read back to the host (and,
under a distribute strategy, summed over the replicas) into what the logs hold."""

from __future__ import annotations

import math
import struct

import numpy as np

from ... import _device
from .. import activations
from ..tensors import eager

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


def _same_rank(values, weight):
    """Keras's squeeze_or_expand_to_same_rank: drops a trailing unit axis from whichever of the
    two has exactly one axis more."""
    if values.ndim == weight.ndim + 1 and values.shape[-1] == 1:
        values = values[..., 0]
    elif weight.ndim == values.ndim + 1 and weight.shape[-1] == 1:
        weight = weight[..., 0]
    return values, weight


def weighted_total(values, sample_weight):
    """(sum, count) of Keras's weighted mean: the values are first averaged down to the weights'
    rank, the weights broadcast over them; without weights, down to one value per sample, each
    counting 1 (so weighted and unweighted updates mix as in Keras)."""
    xp = _device.array_module(values)
    if sample_weight is None:
        if values.ndim > 1:
            values = values.mean(axis=tuple(range(1, values.ndim)))
        return values.sum(dtype=np.float64), values.shape[0] if values.ndim else 1
    weight = xp.asarray(_array(sample_weight), dtype=np.float64)
    values, weight = _same_rank(values.astype(np.float64), weight)
    if values.ndim > weight.ndim:
        values = values.mean(axis=tuple(range(weight.ndim, values.ndim)))
    weight = xp.broadcast_to(weight, values.shape)
    total = (values * weight).sum()
    if weight.ndim > 1:
        weight = weight.mean(axis=tuple(range(1, weight.ndim)))
    return total, weight.sum()


class Metric:
    """Base class: ``update_state(y_true, y_pred, sample_weight=None)``, ``result()``,
    ``reset_state()``. Mean-type metrics implement ``_values`` (one value per element or per
    sample); metrics with more state override ``_zero``, ``_update`` and ``_result``."""

    name = "metric"

    def __init__(self, name=None, dtype=None):
        if name is not None:
            self.name = name
        self.reset_state()

    def reset_state(self) -> None:
        self._total = 0.0
        self._count = 0.0

    def _add(self, values, sample_weight=None) -> None:
        total, count = weighted_total(_array(values), sample_weight)
        self._total += total  # stays on the device: no wait
        self._count += count

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

    def _value(self, total, count=None):
        """float(result()) given the running total read back to the host: what logs hold.
        ``count`` replaces this metric's own (a total and count summed over replicas)."""
        count = self._count if count is None else count
        return _round_to_float32(total / count if count else 0.0)

    def update_state(self, y_true, y_pred, sample_weight=None):
        self._add(self._values(_array(y_true), _array(y_pred)), sample_weight)

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
        total, count = _device.read_back([self._total, self._count])
        return eager(np.float32(self._value(total, count)))

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": "float32"}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class Mean(Metric):
    """The (weighted) mean of the values given to ``update_state(values, sample_weight)``."""

    name = "mean"

    def update_state(self, values, sample_weight=None):
        self._add(_array(values).astype(np.float64), sample_weight)


class Sum(Metric):
    """The (weighted) sum of the values given to ``update_state(values, sample_weight)``."""

    name = "sum"

    def update_state(self, values, sample_weight=None):
        values = _array(values).astype(np.float64)
        if sample_weight is None:
            self._total += values.sum()
            return
        xp = _device.array_module(values)
        weight = xp.asarray(_array(sample_weight), dtype=np.float64)
        values, weight = _same_rank(values, weight)
        if values.ndim > weight.ndim:
            values = values.sum(axis=tuple(range(weight.ndim, values.ndim)))
        self._total += (values * xp.broadcast_to(weight, values.shape)).sum()

    def _value(self, total, count=None):
        return _round_to_float32(total)


class StateMetric(Metric):
    """A metric whose state is an array of counts (``_zero()``), added to by ``_counts`` and
    turned into the result by ``_result`` (float64 host arrays in, a number or an array out)."""

    def reset_state(self) -> None:
        self._total = None  # made at the first update, where the data lives
        self._count = 0.0

    def _zero(self, xp):
        raise NotImplementedError

    def _counts(self, y_true, y_pred, sample_weight, xp):
        raise NotImplementedError

    def _result(self, state):
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = _array(y_pred)
        xp = _device.array_module(y_pred)
        y_true = xp.asarray(_array(y_true))
        weight = None if sample_weight is None else xp.asarray(_array(sample_weight), np.float64)
        counts = self._counts(y_true, y_pred, weight, xp)
        self._total = counts if self._total is None else self._total + counts

    def _value(self, total, count=None):
        state = self._zero(np) if total is None else np.asarray(total, np.float64)
        value = np.asarray(self._result(state), np.float64)
        return _round_to_float32(float(value)) if value.ndim == 0 else value.astype(np.float32)

    def result(self):
        state = None if self._total is None else _device.read_back([self._total])[0]
        return eager(np.float32(self._value(state)))
