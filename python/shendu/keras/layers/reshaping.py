"""Layers that move data without arithmetic to speak of: UpSampling1D/2D, ZeroPadding1D/2D,
Cropping1D/2D, RepeatVector, Permute. NumPy (or CuPy) over views, channels_last."""

from __future__ import annotations

import numpy as np

from ... import _device
from . import arguments
from .layer import Layer


def _times(d, k):
    return None if d is None else d * k


def _two_sides(name, value) -> tuple:
    """(before, after) from an int (both) or a pair, each >= 0."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (value, value)
    try:
        result = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        result = ()
    if len(result) != 2 or min(result) < 0:
        raise ValueError(
            f"`{name}` should be an int or a tuple of 2 ints >= 0. Received: {name}={value!r}"
        )
    return result


def _sides_2d(name, value) -> tuple:
    """((top, bottom), (left, right)) from an int, a pair (symmetric per axis) or two pairs."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return ((int(value),) * 2,) * 2
    if isinstance(value, (tuple, list)) and len(value) == 2:
        if all(isinstance(v, (int, np.integer)) for v in value):
            return tuple(_two_sides(name, int(v)) for v in value)
        return tuple(_two_sides(name, v) for v in value)
    raise ValueError(
        f"`{name}` should be an int, a tuple of 2 ints or a tuple of 2 tuples of 2 ints. "
        f"Received: {name}={value!r}"
    )


# --- upsampling ------------------------------------------------------------------------------


class UpSampling1D(Layer):
    """Repeats each step ``size`` times.

    Args:
        size: the repetition factor.

    Input shape: ``(batch, steps, features)``. Output shape: ``(batch, steps * size, features)``.
    """

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        self.size = arguments.positive_int("size", size)

    def forward(self, x, training=False):
        return _device.array_module(x).repeat(x, self.size, axis=1), None

    def backward(self, ctx, dy):
        n, steps, c = dy.shape
        return dy.reshape(n, steps // self.size, self.size, c).sum(axis=2), []

    def compute_output_shape(self, input_shape):
        arguments.input_ndim(self, input_shape, 3)
        return (input_shape[0], _times(input_shape[1], self.size), input_shape[2])

    def get_config(self):
        return {**super().get_config(), "size": self.size}


def _bilinear_matrix(size, factor, dtype):
    """(size * factor, size): TF's resize_bilinear along one axis with half-pixel centers, the
    source coordinate (o + 0.5) / factor - 0.5 clamped to the edge cells."""
    m = np.zeros((size * factor, size), np.float64)
    for o in range(size * factor):
        src = (o + 0.5) / factor - 0.5
        low = np.floor(src)
        lerp = src - low
        lo, hi = max(int(low), 0), min(int(np.ceil(src)), size - 1)
        m[o, lo] += 1 - lerp
        m[o, hi] += lerp
    return m.astype(dtype)


class UpSampling2D(Layer):
    """Scales NHWC images up by integer factors.

    Args:
        size: the (height, width) factors, or one int for both.
        interpolation: "nearest" (each pixel repeated) or "bilinear" (TF's resize with
            half-pixel centers, as Keras 3).

    Input shape: ``(batch, height, width, channels)``.
    Output shape: ``(batch, height * size[0], width * size[1], channels)``.
    """

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        arguments.channels_last(data_format)
        self.size = arguments.pair("size", size)
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError(
                "`interpolation` argument should be one of: 'nearest', 'bilinear'. "
                f"Received: interpolation={interpolation!r}"
            )
        self.interpolation = interpolation

    def _matrices(self, xp, h, w, dtype):
        fh, fw = self.size
        return (
            xp.asarray(_bilinear_matrix(h, fh, dtype)),
            xp.asarray(_bilinear_matrix(w, fw, dtype)),
        )

    def forward(self, x, training=False):
        xp = _device.array_module(x)
        fh, fw = self.size
        if self.interpolation == "nearest":
            return xp.repeat(xp.repeat(x, fh, axis=1), fw, axis=2), None
        mh, mw = self._matrices(xp, x.shape[1], x.shape[2], x.dtype)
        y = xp.einsum("oh,nhwc->nowc", mh, x)
        return xp.ascontiguousarray(xp.einsum("pw,nowc->nopc", mw, y)), (mh, mw)

    def backward(self, ctx, dy):
        xp = _device.array_module(dy)
        fh, fw = self.size
        n, oh, ow, c = dy.shape
        if ctx is None:
            return dy.reshape(n, oh // fh, fh, ow // fw, fw, c).sum(axis=(2, 4)), []
        mh, mw = ctx
        d = xp.einsum("pw,nopc->nowc", mw, dy)
        return xp.ascontiguousarray(xp.einsum("oh,nowc->nhwc", mh, d)), []

    def compute_output_shape(self, input_shape):
        arguments.input_ndim(self, input_shape, 4)
        n, h, w, c = input_shape
        return (n, _times(h, self.size[0]), _times(w, self.size[1]), c)

    def get_config(self):
        return {
            **super().get_config(),
            "size": list(self.size),
            "data_format": "channels_last",
            "interpolation": self.interpolation,
        }


# --- padding and cropping --------------------------------------------------------------------


def _grow(d, before, after):
    return None if d is None else d + before + after


def _shrink(layer, d, before, after):
    if d is None:
        return None
    if before + after >= d:
        raise ValueError(
            f"{layer.name}: cropping ({before}, {after}) leaves nothing of a dimension of {d}"
        )
    return d - before - after


def _pad(x, sides):
    """Zero-pads the axes after the batch by sides ((before, after), ...); the rest unchanged."""
    xp = _device.array_module(x)
    return xp.pad(x, ((0, 0), *sides) + ((0, 0),) * (x.ndim - 1 - len(sides)))


def _crop(x, sides):
    """The slice of x that drops sides ((before, after), ...) of the axes after the batch."""
    return x[(slice(None),) + tuple(slice(b, x.shape[i + 1] - a) for i, (b, a) in enumerate(sides))]


class ZeroPadding1D(Layer):
    """Adds zero steps at the start and end of sequences.

    Args:
        padding: an int (both ends) or (start, end).

    Input shape: ``(batch, steps, features)``. Output shape: ``(batch, padded_steps, features)``.
    """

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        arguments.channels_last(data_format)
        self.padding = _two_sides("padding", padding)

    def forward(self, x, training=False):
        return _pad(x, (self.padding,)), None

    def backward(self, ctx, dy):
        return _crop(dy, (self.padding,)), []

    def compute_output_shape(self, input_shape):
        arguments.input_ndim(self, input_shape, 3)
        return (input_shape[0], _grow(input_shape[1], *self.padding), input_shape[2])

    def get_config(self):
        return {
            **super().get_config(),
            "padding": list(self.padding),
            "data_format": "channels_last",
        }


class ZeroPadding2D(Layer):
    """Adds rows and columns of zeros around NHWC images.

    Args:
        padding: an int (all sides), (rows, columns) (symmetric), or
            ((top, bottom), (left, right)).

    Input shape: ``(batch, height, width, channels)``. Output shape: the padded images.
    """

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        arguments.channels_last(data_format)
        self.padding = _sides_2d("padding", padding)

    def forward(self, x, training=False):
        return _pad(x, self.padding), None

    def backward(self, ctx, dy):
        return _crop(dy, self.padding), []

    def compute_output_shape(self, input_shape):
        arguments.input_ndim(self, input_shape, 4)
        n, h, w, c = input_shape
        return (n, _grow(h, *self.padding[0]), _grow(w, *self.padding[1]), c)

    def get_config(self):
        return {
            **super().get_config(),
            "padding": [list(p) for p in self.padding],
            "data_format": "channels_last",
        }


class Cropping1D(Layer):
    """Drops steps at the start and end of sequences.

    Args:
        cropping: an int (both ends) or (start, end).

    Input shape: ``(batch, steps, features)``. Output shape: ``(batch, cropped_steps, features)``.
    """

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(**kwargs)
        self.cropping = _two_sides("cropping", cropping)

    def forward(self, x, training=False):
        return _crop(x, (self.cropping,)), None

    def backward(self, ctx, dy):
        return _pad(dy, (self.cropping,)), []

    def compute_output_shape(self, input_shape):
        arguments.input_ndim(self, input_shape, 3)
        return (input_shape[0], _shrink(self, input_shape[1], *self.cropping), input_shape[2])

    def get_config(self):
        return {**super().get_config(), "cropping": list(self.cropping)}


class Cropping2D(Layer):
    """Drops rows and columns at the borders of NHWC images.

    Args:
        cropping: an int (all sides), (rows, columns) (symmetric), or
            ((top, bottom), (left, right)).

    Input shape: ``(batch, height, width, channels)``. Output shape: the cropped images.
    """

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        arguments.channels_last(data_format)
        self.cropping = _sides_2d("cropping", cropping)

    def forward(self, x, training=False):
        return _crop(x, self.cropping), None

    def backward(self, ctx, dy):
        return _pad(dy, self.cropping), []

    def compute_output_shape(self, input_shape):
        arguments.input_ndim(self, input_shape, 4)
        n, h, w, c = input_shape
        return (n, _shrink(self, h, *self.cropping[0]), _shrink(self, w, *self.cropping[1]), c)

    def get_config(self):
        return {
            **super().get_config(),
            "cropping": [list(p) for p in self.cropping],
            "data_format": "channels_last",
        }


# --- repetition and permutation --------------------------------------------------------------


class RepeatVector(Layer):
    """Repeats each input vector ``n`` times.

    Args:
        n: the number of repetitions.

    Input shape: ``(batch, features)``. Output shape: ``(batch, n, features)``.
    """

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        self.n = arguments.positive_int("n", n)

    def forward(self, x, training=False):
        xp = _device.array_module(x)
        return xp.ascontiguousarray(
            xp.broadcast_to(x[:, None, :], (x.shape[0], self.n, x.shape[1]))
        ), None

    def backward(self, ctx, dy):
        return dy.sum(axis=1), []

    def compute_output_shape(self, input_shape):
        arguments.input_ndim(self, input_shape, 2)
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self):
        return {**super().get_config(), "n": self.n}


class Permute(Layer):
    """Permutes the axes after the batch.

    Args:
        dims: a permutation of 1..rank-1 (1 is the first axis after the batch): output axis i
            is input axis dims[i - 1].

    Input shape: any of rank len(dims) + 1. Output shape: the input's, permuted.
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        try:
            dims = tuple(int(d) for d in dims)
        except TypeError:
            dims = ()
        if sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError(
                "Invalid permutation argument `dims` for Permute Layer. The set of indices in "
                f"`dims` must be consecutive and start from 1. Received dims={dims}"
            )
        self.dims = dims

    def forward(self, x, training=False):
        return x.transpose((0,) + self.dims), None

    def backward(self, ctx, dy):
        return dy.transpose((0,) + tuple(int(i) + 1 for i in np.argsort(self.dims))), []

    def compute_output_shape(self, input_shape):
        arguments.input_ndim(self, input_shape, len(self.dims) + 1)
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def get_config(self):
        return {**super().get_config(), "dims": list(self.dims)}
