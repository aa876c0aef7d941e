"""Layers that merge several inputs: Concatenate, Add, Subtract, Average, Multiply, Maximum,
Minimum (elementwise glue) and Dot."""

from __future__ import annotations

import numpy as np

from ... import _device
from .layer import Layer


def _check_list(layer, inputs, minimum=2):
    if not isinstance(inputs, (list, tuple)) or len(inputs) < minimum:
        raise ValueError(
            f"A merge layer ({layer.name!r}) should be called on a list of at least "
            f"{minimum} inputs. Received: {inputs!r}"
        )


class Concatenate(Layer):
    """Joins a list of inputs along ``axis``.

    Args:
        axis: the axis to join along (default: the last); other dimensions must match.

    Input: a list of tensors of one rank. Output shape: theirs, with the ``axis`` sizes summed.
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)

    def compute_output_shape(self, input_shape):
        _check_list(self, input_shape, 1)
        ranks = {len(s) for s in input_shape}
        if len(ranks) != 1:
            raise ValueError(
                f"{self.name}: inputs must all have the same rank, got shapes {input_shape}"
            )
        axis = self.axis % len(input_shape[0])
        out = list(input_shape[0])
        for shape in input_shape[1:]:
            for i, (a, b) in enumerate(zip(out, shape)):
                if i != axis and a is not None and b is not None and a != b:
                    raise ValueError(
                        f"{self.name}: a Concatenate layer requires inputs with "
                        f"matching shapes except for the concatenation axis "
                        f"{self.axis}. Received: input_shape={input_shape}"
                    )
        sizes = [s[axis] for s in input_shape]
        out[axis] = None if None in sizes else sum(sizes)
        return tuple(out)

    def forward(self, inputs, training=False):
        xp = _device.array_module(inputs[0])
        return xp.concatenate(inputs, axis=self.axis), [x.shape[self.axis] for x in inputs]

    def backward(self, sizes, dy):
        xp = _device.array_module(dy)
        return xp.split(dy, np.cumsum(sizes)[:-1].tolist(), axis=self.axis), []

    def compute_mask(self, inputs, mask=None):
        """Keras's rule: each input's mask spread over its features (all True when it has
        none), joined along ``axis``, then a step is kept if any feature keeps it."""
        if mask is None or all(m is None for m in mask):
            return None
        xp = _device.array_module(inputs[0])
        spread = []
        for x, m in zip(inputs, mask):
            m = xp.ones(x.shape, bool) if m is None else xp.asarray(m)
            spread.append(xp.broadcast_to(m[..., None] if m.ndim < x.ndim else m, x.shape))
        return xp.concatenate(spread, axis=self.axis).any(axis=-1)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class _Elementwise(Layer):
    def compute_mask(self, inputs, mask=None):
        """As Keras: a step is kept if any input keeps it; no mask unless every input has one."""
        if mask is None or any(m is None for m in mask):
            return None
        out = mask[0]
        for m in mask[1:]:
            out = out | m
        return out

    def compute_output_shape(self, input_shape):
        _check_list(self, input_shape)
        first = tuple(input_shape[0])
        for shape in input_shape[1:]:
            if len(shape) != len(first) or any(
                a is not None and b is not None and a != b for a, b in zip(first, shape)
            ):
                raise ValueError(f"{self.name}: inputs must have the same shape, got {input_shape}")
        return first


class Add(_Elementwise):
    """The elementwise sum of a list of inputs.

    Input: a list of tensors of one shape. Output shape: that shape.
    """

    def forward(self, inputs, training=False):
        out = inputs[0] + inputs[1]
        for x in inputs[2:]:
            out += x
        return out, len(inputs)

    def backward(self, count, dy):
        return [dy] * count, []


class Subtract(_Elementwise):
    """The elementwise difference ``inputs[0] - inputs[1]``.

    Input: a list of exactly two tensors of one shape. Output shape: that shape.
    """

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(
                f"A Subtract layer should be called on exactly 2 inputs, got {len(input_shape)}"
            )
        return super().compute_output_shape(input_shape)

    def forward(self, inputs, training=False):
        return inputs[0] - inputs[1], None

    def backward(self, ctx, dy):
        return [dy, -dy], []


class Average(_Elementwise):
    """The elementwise mean of a list of inputs.

    Input: a list of tensors of one shape. Output shape: that shape.
    """

    def forward(self, inputs, training=False):
        out = inputs[0] + inputs[1]
        for x in inputs[2:]:
            out += x
        return out / len(inputs), len(inputs)

    def backward(self, count, dy):
        return [dy / count] * count, []


class Multiply(_Elementwise):
    """The elementwise product of a list of inputs.

    Input: a list of tensors of one shape. Output shape: that shape.
    """

    def forward(self, inputs, training=False):
        out = inputs[0] * inputs[1]
        for x in inputs[2:]:
            out = out * x
        return out, inputs

    def backward(self, inputs, dy):
        grads = []
        for i in range(len(inputs)):
            g = dy
            for j, x in enumerate(inputs):
                if j != i:
                    g = g * x
            grads.append(g)
        return grads, []


class _Extreme(_Elementwise):
    """The elementwise maximum or minimum; the gradient goes to the first input holding it."""

    _pick = None

    def forward(self, inputs, training=False):
        xp = _device.array_module(inputs[0])
        winner = xp.zeros(inputs[0].shape, np.int8 if len(inputs) < 128 else np.int32)
        out = inputs[0]
        for k, x in enumerate(inputs[1:], 1):
            better = self._pick(x, out)  # strict: ties keep the earlier input
            out = xp.where(better, x, out)
            winner = xp.where(better, k, winner)
        return out, (winner, len(inputs))

    def backward(self, ctx, dy):
        winner, count = ctx
        return [dy * (winner == k) for k in range(count)], []


class Maximum(_Extreme):
    """The elementwise maximum of a list of inputs.

    Input: a list of tensors of one shape. Output shape: that shape.
    """

    @staticmethod
    def _pick(x, out):
        return x > out


class Minimum(_Extreme):
    """The elementwise minimum of a list of inputs.

    Input: a list of tensors of one shape. Output shape: that shape.
    """

    @staticmethod
    def _pick(x, out):
        return x < out


def _l2_normalize(xp, x, axis):
    """x / sqrt(max(sum(x**2), 1e-12)) along axis (TF's l2_normalize) and that scale."""
    inv = 1 / xp.sqrt(xp.maximum((x * x).sum(axis=axis, keepdims=True), 1e-12))
    return (x * inv).astype(x.dtype, copy=False), inv


def _l2_normalize_backward(dn, n, inv, axis):
    # (dn - n <dn, n>) / |x|: the floor on |x|^2 is treated as inactive (it only guards 0 / 0).
    return (dn - n * (dn * n).sum(axis=axis, keepdims=True)) * inv


class Dot(Layer):
    """The dot product of two inputs along one axis each, sample by sample (batch_dot).

    Args:
        axes: the axis of each input to contract, an int for both or a pair (not 0, the batch).
        normalize: L2-normalize both inputs along those axes first (cosine similarity).

    Input: two tensors. Output shape: the batch, then the other axes of the first input, then
    those of the second; ``(batch, 1)`` when nothing else remains.
    """

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        pair = (axes, axes) if isinstance(axes, (int, np.integer)) else tuple(axes)
        if len(pair) != 2 or not all(isinstance(a, (int, np.integer)) for a in pair):
            raise TypeError(
                f"Invalid type for argument `axes`: expected an int or 2 ints, got {axes!r}"
            )
        self.axes = tuple(int(a) for a in pair)
        self.normalize = bool(normalize)

    def _axes(self, ranks):
        axes = tuple(a % r for a, r in zip(self.axes, ranks))
        if 0 in axes:
            raise ValueError(f"{self.name}: cannot take the dot product along the batch axis")
        return axes

    def compute_output_shape(self, input_shape):
        _check_list(self, input_shape)
        if len(input_shape) != 2:
            raise ValueError(
                f"A `Dot` layer should be called on exactly 2 inputs, got {input_shape}"
            )
        a, b = (tuple(s) for s in input_shape)
        ax, bx = self._axes((len(a), len(b)))
        if a[ax] is not None and b[bx] is not None and a[ax] != b[bx]:
            raise ValueError(
                f"{self.name}: dimension incompatibility: {a[ax]} != {b[bx]} "
                f"(shapes {a} and {b}, axes {self.axes})"
            )
        rest = a[1:ax] + a[ax + 1 :] + b[1:bx] + b[bx + 1 :]
        return (a[0],) + (rest or (1,))

    def forward(self, inputs, training=False):
        a, b = inputs
        xp = _device.array_module(a)
        ax, bx = self._axes((a.ndim, b.ndim))
        norms = None
        if self.normalize:
            (a, ia), (b, ib) = _l2_normalize(xp, a, ax), _l2_normalize(xp, b, bx)
            norms = (ia, ib)
        am = xp.moveaxis(a, ax, -1)  # (N, P..., K)
        bm = xp.moveaxis(b, bx, 1)  # (N, K, Q...)
        n, k = a.shape[0], a.shape[ax]
        y = xp.matmul(am.reshape(n, -1, k), bm.reshape(n, k, -1))
        out = y.reshape(self.compute_output_shape([a.shape, b.shape]))
        return out, (am, bm, y.shape, norms, a, b)

    def backward(self, ctx, dy):
        am, bm, y_shape, norms, a, b = ctx
        xp = _device.array_module(dy)
        ax, bx = self._axes((a.ndim, b.ndim))
        n, k = a.shape[0], a.shape[ax]
        dy = dy.reshape(y_shape)
        dam = xp.matmul(dy, xp.swapaxes(bm.reshape(n, k, -1), 1, 2)).reshape(am.shape)
        dbm = xp.matmul(xp.swapaxes(am.reshape(n, -1, k), 1, 2), dy).reshape(bm.shape)
        da, db = xp.moveaxis(dam, -1, ax), xp.moveaxis(dbm, 1, bx)
        if norms is not None:
            da = _l2_normalize_backward(da, a, norms[0], ax)
            db = _l2_normalize_backward(db, b, norms[1], bx)
        return [da, db], []

    def get_config(self):
        return {**super().get_config(), "axes": list(self.axes), "normalize": self.normalize}
