"""Layers that merge several inputs: Concatenate, Add, Subtract, Average (elementwise glue)."""

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

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class _Elementwise(Layer):
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
