"""Activation layers with options: ReLU, LeakyReLU, ELU, PReLU (Softmax and Activation: core)."""

from __future__ import annotations

import numpy as np

from ... import _device, ops
from .. import activations, initializers, regularizers
from . import arguments
from .layer import Layer


def _real(name, value, minimum=None):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise ValueError(f"`{name}` must be a float, got {name}={value!r}")
    if value != value or (minimum is not None and value < minimum):
        bound = "" if minimum is None else f" >= {minimum}"
        raise ValueError(f"`{name}` must be a float{bound}, got {name}={value!r}")
    return float(value)


class ReLU(Layer):
    """Rectified linear unit: ``x`` where ``x > threshold`` (capped at ``max_value``), and
    ``negative_slope * (x - threshold)`` below the threshold.

    Args:
        max_value: the cap of the output (None: no cap).
        negative_slope: the slope below the threshold (>= 0).
        threshold: where the unit turns on.

    Input shape: any. Output shape: the input's.
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        self.max_value = None if max_value is None else _real("max_value", max_value, 0.0)
        self.negative_slope = _real("negative_slope", negative_slope, 0.0)
        self.threshold = _real("threshold", threshold)

    def _plain(self) -> bool:
        return self.max_value is None and self.negative_slope == 0 and self.threshold == 0

    def forward(self, x, training=False):
        if self._plain():
            y = ops.relu(x)
            return y, y
        y, slope = activations.general_relu(x, self.negative_slope, self.max_value, self.threshold)
        return y, slope

    def backward(self, ctx, dy):
        if self._plain():
            return ops.relu_backward(dy, ctx), []
        return dy * ctx, []

    def get_config(self):
        return {
            **super().get_config(),
            "max_value": self.max_value,
            "negative_slope": self.negative_slope,
            "threshold": self.threshold,
        }


class _Pointwise(Layer):
    """A layer applying ``ops.activation(x, _name, alpha)``."""

    _name = ""

    def _alpha(self):
        raise NotImplementedError

    def forward(self, x, training=False):
        y = ops.activation(x, self._name, self._alpha())
        return y, (x, y)

    def backward(self, ctx, dy):
        x, y = ctx
        return ops.activation_backward(dy, x, y, self._name, self._alpha()), []


class LeakyReLU(_Pointwise):
    """``x`` for ``x > 0``, ``negative_slope * x`` otherwise.

    Args:
        negative_slope: the slope below 0 (>= 0; Keras 3's default 0.3).

    Input shape: any. Output shape: the input's.
    """

    _name = "leaky_relu"

    def __init__(self, negative_slope=0.3, **kwargs):
        super().__init__(**kwargs)
        self.negative_slope = _real("negative_slope", negative_slope, 0.0)

    def _alpha(self):
        return self.negative_slope

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class ELU(_Pointwise):
    """Exponential linear unit: ``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` otherwise.

    Args:
        alpha: the scale of the negative part.

    Input shape: any. Output shape: the input's.
    """

    _name = "elu"

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = _real("alpha", alpha)

    def _alpha(self):
        return self.alpha

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class PReLU(Layer):
    """Parametric ReLU: ``x`` for ``x >= 0``, ``alpha * x`` otherwise, with a learned ``alpha``
    of the input's shape (batch excluded), shared (size 1) along ``shared_axes``.

    Args:
        alpha_initializer: the initializer of alpha (default zeros).
        alpha_regularizer: a penalty on alpha, or None.
        shared_axes: the axes (1 = the first after the batch) along which alpha is shared.

    Input shape: any, with every non-batch dimension known. Output shape: the input's.
    """

    def __init__(
        self,
        alpha_initializer="Zeros",
        alpha_regularizer=None,
        alpha_constraint=None,
        shared_axes=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        arguments.refuse("PReLU", alpha_constraint=alpha_constraint)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        if shared_axes is None:
            self.shared_axes = None
        else:
            axes = [shared_axes] if isinstance(shared_axes, (int, np.integer)) else shared_axes
            self.shared_axes = [arguments.positive_int("shared_axes", a) for a in axes]

    def build(self, input_shape):
        shape = list(input_shape[1:])
        for a in self.shared_axes or ():
            if a > len(shape):
                raise ValueError(
                    f"{self.name}: shared_axes {self.shared_axes} out of range for input shape "
                    f"{input_shape}"
                )
            shape[a - 1] = 1
        if None in shape:
            raise ValueError(
                f"{self.name}: every non-shared dimension must be known, got input shape "
                f"{input_shape}"
            )
        self.alpha = self.add_weight("alpha", shape, self.alpha_initializer, self.alpha_regularizer)

    def forward(self, x, training=False):
        xp = _device.array_module(x)
        neg = xp.minimum(x, 0)
        return xp.maximum(x, 0) + self.alpha.value * neg, (x, neg)

    def backward(self, ctx, dy):
        x, neg = ctx
        alpha = self.alpha.value
        dx = dy * (x > 0) + dy * (x < 0) * alpha
        # alpha broadcasts over the batch and its shared axes: its gradient sums over them.
        dalpha = (dy * neg).sum(axis=0)
        shared = tuple(i for i, d in enumerate(alpha.shape) if d == 1 and dalpha.shape[i] != 1)
        dalpha = dalpha.sum(axis=shared, keepdims=True) if shared else dalpha
        return dx.astype(x.dtype, copy=False), [dalpha.astype(x.dtype, copy=False)]

    def get_config(self):
        return {
            **super().get_config(),
            "alpha_initializer": initializers.serialize(self.alpha_initializer),
            "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
            "alpha_constraint": None,
            "shared_axes": self.shared_axes,
        }
