"""1-D pooling (on the 2-D pooling kernels, as images of height 1) and global pooling (one pass
per sample over its steps or pixels, ``ops.global_*_pool``)."""

from __future__ import annotations

import math

from ... import ops
from ..._padding import window_axis
from . import arguments
from .layer import Layer


def _one(name, value) -> int:
    """An int or a 1-tuple of one positive int (Keras's 1-D sizes)."""
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    return arguments.positive_int(name, value)


class _Pooling1D(Layer):
    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        arguments.channels_last(data_format)
        self.pool_size = _one("pool_size", pool_size)
        self.strides = self.pool_size if strides is None else _one("strides", strides)
        self.padding = arguments.padding(padding)

    def _geometry(self):
        return (1, self.pool_size), (1, self.strides), self.padding

    def compute_output_shape(self, input_shape):
        arguments.input_ndim(self, input_shape, 3, "(batch, steps, channels)")
        n, steps, c = input_shape
        if steps is not None:
            steps = max(0, window_axis(steps, self.pool_size, self.strides, self.padding)[0])
        return (n, steps, c)

    def get_config(self):
        return {
            **super().get_config(),
            "pool_size": [self.pool_size],
            "padding": self.padding,
            "strides": [self.strides],
            "data_format": "channels_last",
        }


class MaxPooling1D(_Pooling1D):
    """The maximum of each window of steps, channel by channel.

    Args:
        pool_size: the window's length.
        strides: the step between windows (default: pool_size).
        padding: "valid" or "same" (padding cells are never the maximum).

    Input shape: ``(batch, steps, channels)``. Output shape: ``(batch, new_steps, channels)``.
    """

    def forward(self, x, training=False):
        x4 = x.reshape(x.shape[0], 1, x.shape[1], x.shape[2])
        y, argmax = ops.max_pool2d(x4, *self._geometry())
        return y.reshape(y.shape[0], y.shape[2], y.shape[3]), (argmax, x4.shape)

    def backward(self, ctx, dy):
        argmax, x4_shape = ctx
        dy4 = dy.reshape(dy.shape[0], 1, dy.shape[1], dy.shape[2])
        dx = ops.max_pool2d_backward(dy4, argmax, x4_shape, *self._geometry())
        return dx.reshape(x4_shape[0], x4_shape[2], x4_shape[3]), []


class AveragePooling1D(_Pooling1D):
    """The mean of each window of steps, channel by channel.

    Args:
        pool_size: the window's length.
        strides: the step between windows (default: pool_size).
        padding: "valid" or "same" (a window's mean counts only the input cells it covers).

    Input shape: ``(batch, steps, channels)``. Output shape: ``(batch, new_steps, channels)``.
    """

    def forward(self, x, training=False):
        x4 = x.reshape(x.shape[0], 1, x.shape[1], x.shape[2])
        y = ops.avg_pool2d(x4, *self._geometry())
        return y.reshape(y.shape[0], y.shape[2], y.shape[3]), x4.shape

    def backward(self, x4_shape, dy):
        dy4 = dy.reshape(dy.shape[0], 1, dy.shape[1], dy.shape[2])
        dx = ops.avg_pool2d_backward(dy4, x4_shape, *self._geometry())
        return dx.reshape(x4_shape[0], x4_shape[2], x4_shape[3]), []


class _GlobalPooling(Layer):
    _ndim = 3
    _what = "(batch, steps, channels)"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        arguments.channels_last(data_format)
        self.keepdims = bool(keepdims)

    def compute_output_shape(self, input_shape):
        arguments.input_ndim(self, input_shape, self._ndim, self._what)
        if self.keepdims:
            return (input_shape[0],) + (1,) * (self._ndim - 2) + (input_shape[-1],)
        return (input_shape[0], input_shape[-1])

    def _steps(self, x):
        """x as (N, L, C): its steps or its pixels in one axis (a view)."""
        return x.reshape(x.shape[0], math.prod(x.shape[1:-1]), x.shape[-1])

    def _out(self, y):
        return (
            y.reshape((y.shape[0],) + (1,) * (self._ndim - 2) + (y.shape[1],))
            if (self.keepdims)
            else y
        )

    def get_config(self):
        return {**super().get_config(), "data_format": "channels_last", "keepdims": self.keepdims}


class _GlobalAverage(_GlobalPooling):
    def forward(self, x, training=False):
        x3 = self._steps(x)
        return self._out(ops.global_avg_pool(x3)), (x3.shape, x.shape)

    def backward(self, ctx, dy):
        x3_shape, x_shape = ctx
        dx = ops.global_avg_pool_backward(dy.reshape(x3_shape[0], x3_shape[2]), x3_shape)
        return dx.reshape(x_shape), []


class _GlobalMax(_GlobalPooling):
    def forward(self, x, training=False):
        x3 = self._steps(x)
        y = ops.global_max_pool(x3)
        return self._out(y), (x3, y, x.shape)

    def backward(self, ctx, dy):
        x3, y, x_shape = ctx
        return ops.global_max_pool_backward(dy.reshape(y.shape), x3, y).reshape(x_shape), []


class GlobalAveragePooling1D(_GlobalAverage):
    """The mean over the steps, channel by channel.

    Args:
        keepdims: keep the steps axis (size 1).

    Input shape: ``(batch, steps, channels)``. Output shape: ``(batch, channels)``, or
    ``(batch, 1, channels)`` with keepdims.
    """


class GlobalMaxPooling1D(_GlobalMax):
    """The maximum over the steps, channel by channel (tied maxima share the gradient).

    Args:
        keepdims: keep the steps axis (size 1).

    Input shape: ``(batch, steps, channels)``. Output shape: ``(batch, channels)``, or
    ``(batch, 1, channels)`` with keepdims.
    """


class GlobalAveragePooling2D(_GlobalAverage):
    """The mean over the pixels of NHWC images, channel by channel.

    Args:
        keepdims: keep the height and width axes (size 1).

    Input shape: ``(batch, height, width, channels)``. Output shape: ``(batch, channels)``, or
    ``(batch, 1, 1, channels)`` with keepdims.
    """

    _ndim = 4
    _what = "(batch, height, width, channels)"


class GlobalMaxPooling2D(_GlobalMax):
    """The maximum over the pixels of NHWC images, channel by channel.

    Args:
        keepdims: keep the height and width axes (size 1).

    Input shape: ``(batch, height, width, channels)``. Output shape: ``(batch, channels)``, or
    ``(batch, 1, 1, channels)`` with keepdims.
    """

    _ndim = 4
    _what = "(batch, height, width, channels)"


MaxPool1D = MaxPooling1D
AvgPool1D = AveragePooling1D
GlobalAvgPool1D = GlobalAveragePooling1D
GlobalMaxPool1D = GlobalMaxPooling1D
GlobalAvgPool2D = GlobalAveragePooling2D
GlobalMaxPool2D = GlobalMaxPooling2D
