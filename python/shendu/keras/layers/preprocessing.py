"""Normalization and Rescaling: elementwise maps with per-feature or scalar constants (NumPy or
CuPy expressions; no kernel of their own)."""

from __future__ import annotations

import itertools
import math

import numpy as np

from ... import _device
from . import arguments
from .layer import Layer

# keras.backend.epsilon(): the smallest standard deviation Normalization divides by.
_EPSILON = 1e-7


def _batch_of(item):
    """A batch from an adapt iterable: the features of an (x, y) or (x, y, weights) tuple."""
    if isinstance(item, tuple):
        item = item[0]
    return np.asarray(_device.to_host(item.numpy() if hasattr(item, "numpy") else item))


class Normalization(Layer):
    """Shifts and scales inputs to zero mean and unit variance per feature:
    ``(x - mean) / sqrt(variance)`` (``invert=True``: ``mean + x * sqrt(variance)``).

    The statistics are given (``mean``, ``variance``) or learned by ``adapt(data)``.

    Args:
        axis: the axis or axes that keep separate statistics (default -1, one per feature);
            None: one mean and variance for everything.
        mean, variance: the statistics, broadcastable to the kept axes; both or neither.
        invert: undo a normalization instead.

    Weights (without given statistics): mean, variance, count (not trainable).
    Input shape: any. Output shape: the input's.
    """

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif isinstance(axis, (int, np.integer)):
            axis = (axis,)
        self.axis = tuple(arguments.integer("axis", a) for a in axis)
        if (mean is None) != (variance is None):
            raise ValueError(
                "When setting values directly, both `mean` and `variance` must be set. "
                f"Received: mean={mean} and variance={variance}"
            )
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError(
                    "When setting values directly, `mean` and `variance` must have the same "
                    f"shape. Received: mean shape {np.shape(mean)} and variance shape "
                    f"{np.shape(variance)}"
                )
            if np.ndim(mean) > len(self.axis):
                raise ValueError(
                    "The rank of `mean` must be less than or equal to the number of axes "
                    f"({len(self.axis)}). Received: mean shape {np.shape(mean)} for axis "
                    f"{self.axis}"
                )
        self.input_mean = mean
        self.input_variance = variance
        self.invert = bool(invert)

    def build(self, input_shape):
        ndim = len(input_shape)
        if any(not -ndim <= a < ndim for a in self.axis):
            raise ValueError(
                f"All `axis` values must be in the range [-ndim, ndim). Received inputs with "
                f"ndim={ndim}, while axis={self.axis}"
            )
        self._keep = tuple(sorted(a % ndim for a in self.axis))
        if any(input_shape[d] is None for d in self._keep):
            raise ValueError(
                f"All `axis` values to be kept must have a known shape. Received "
                f"axis={self.axis}, inputs.shape={tuple(input_shape)}"
            )
        self._reduce = tuple(d for d in range(ndim) if d not in self._keep)
        self._broadcast = tuple(input_shape[d] if d in self._keep else 1 for d in range(ndim))
        stats_shape = tuple(input_shape[d] for d in self._keep)
        if self.input_mean is None:
            self.adapt_mean = self.add_weight("mean", stats_shape, "zeros", trainable=False)
            self.adapt_variance = self.add_weight("variance", stats_shape, "ones", trainable=False)
            self.count = self.add_weight("count", (), "zeros", trainable=False)
            self.count.file_dtype = np.int64  # Keras's count is an int64 variable
        else:
            # Given statistics line up with the last kept axes, as Keras's reshape does.
            self._given = [
                self._expand(np.asarray(v, np.float32))
                for v in (self.input_mean, self.input_variance)
            ]

    def _expand(self, v):
        shape = [1] * len(self._broadcast)
        for k in range(1, v.ndim + 1):
            shape[self._keep[-k]] = v.shape[-k]
        return np.broadcast_to(v.reshape(shape), self._broadcast)

    def adapt(self, data):
        """Learns the mean and variance of ``data``: an array, or an iterable of batches
        (arrays, or (x, y) tuples whose x is taken). Batches merge as Keras merges them."""
        if hasattr(data, "shape") and not isinstance(data, tuple):
            batches, first = None, _batch_of(data)
        else:
            iterator = iter(data)
            head = next(iterator, None)
            if head is None:
                raise ValueError("adapt() received an empty iterable (no batches).")
            first = _batch_of(head)
            batches = itertools.chain([first], map(_batch_of, iterator))
        if self.input_mean is not None:
            raise ValueError(f"{self.name}: adapt() needs a layer built without mean/variance")
        if not self.built:
            self._maybe_build((None,) + first.shape[1:] if first.ndim else ())
        if batches is None:
            self._check_batch(first)
            mean, var = np.mean(first, axis=self._reduce), np.var(first, axis=self._reduce)
        else:
            mean, var = self._merged(batches)
        self.adapt_mean.assign(np.asarray(mean, np.float32))
        self.adapt_variance.assign(np.asarray(var, np.float32))

    def _check_batch(self, batch):
        shape = self._build_input_shape
        if batch.ndim != len(shape) or any(batch.shape[d] != shape[d] for d in self._keep):
            raise ValueError(
                f"{self.name}: the layer was built with input_shape={tuple(shape)}, but adapt() "
                f"received data of an incompatible shape, data.shape={batch.shape}"
            )

    def _merged(self, batches):
        """Keras's running merge of per-batch means and variances, weighted by counts."""
        total_mean = total_var = np.zeros(self.adapt_mean.shape, np.float32)
        total = 0
        for batch in batches:
            self._check_batch(batch)
            batch = batch.astype(np.float32, copy=False)
            mean, var = np.mean(batch, axis=self._reduce), np.var(batch, axis=self._reduce)
            count = math.prod(batch.shape[d] for d in self._reduce)
            total += count
            w = float(count) / total
            new_mean = total_mean * (1.0 - w) + mean * w
            total_var = (total_var + (total_mean - new_mean) ** 2) * (1.0 - w) + (
                var + (mean - new_mean) ** 2
            ) * w
            total_mean = new_mean
        return total_mean, total_var

    def _stats(self, xp):
        if self.input_mean is not None:
            mean, var = (xp.asarray(v) for v in self._given)
        else:
            mean = self.adapt_mean.value.reshape(self._broadcast)
            var = self.adapt_variance.value.reshape(self._broadcast)
        return mean, xp.maximum(xp.sqrt(var), xp.float32(_EPSILON))

    def forward(self, x, training=False):
        if not self.built:
            raise ValueError("You must call `.build(input_shape)` on the layer before using it.")
        mean, std = self._stats(_device.array_module(x))
        y = mean + x * std if self.invert else (x - mean) / std
        return y.astype(np.float32, copy=False), std

    def backward(self, std, dy):
        dx = dy * std if self.invert else dy / std
        return dx.astype(np.float32, copy=False), [None] * len(self.weights)

    def get_config(self):
        return {
            **super().get_config(),
            "axis": list(self.axis),
            "invert": self.invert,
            "mean": np.array(self.input_mean).tolist(),
            "variance": np.array(self.input_variance).tolist(),
        }


def _constant(name, value):
    """A float, or a float32 array of per-feature values (broadcast against the last axes)."""
    if isinstance(value, bool):
        raise TypeError(f"`{name}` must be a number or an array of numbers, got {value!r}")
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    try:
        return np.asarray(value, np.float32)
    except (TypeError, ValueError):
        raise TypeError(
            f"`{name}` must be a number or an array of numbers, got {value!r}"
        ) from None


class Rescaling(Layer):
    """``inputs * scale + offset`` (pixel values from [0, 255] to [0, 1]: ``scale=1 / 255``).

    Args:
        scale: a number, or per-feature values broadcast against the last axes.
        offset: the same.

    Input shape: any. Output shape: the input's.
    """

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = _constant("scale", scale)
        self.offset = _constant("offset", offset)

    def _value(self, v, xp):
        return xp.float32(v) if isinstance(v, float) else xp.asarray(v)

    def forward(self, x, training=False):
        xp = _device.array_module(x)
        y = x * self._value(self.scale, xp) + self._value(self.offset, xp)
        return y.astype(np.float32, copy=False), None

    def backward(self, ctx, dy):
        dx = dy * self._value(self.scale, _device.array_module(dy))
        return dx.astype(np.float32, copy=False), []

    def get_config(self):
        def plain(v):
            return v if isinstance(v, float) else v.tolist()

        return {**super().get_config(), "scale": plain(self.scale), "offset": plain(self.offset)}
