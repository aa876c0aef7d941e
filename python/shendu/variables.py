"""tf.Variable: a variable of any dtype, made from a value (or a callable returning one).

It is a Keras weight's class (``keras.layers.Layer.add_weight`` makes float32 ones), so both
kinds work alike in tapes, optimizers and ``assign*``.
"""

from __future__ import annotations

import itertools

import numpy as np

from . import _device
from .core import constant
from .keras.layers.layer import Variable as _KerasVariable

_numbers = itertools.count()


class Variable(_KerasVariable):
    """``tf.Variable(initial_value, trainable=True, name=None, dtype=None, shape=None)``.

    Python floats make float32 variables and Python ints int32 ones (as ``tf.constant``); only
    float variables receive gradients.
    """

    def __init__(
        self, initial_value=None, trainable=True, name=None, dtype=None, shape=None, **kwargs
    ):
        if initial_value is None:
            raise ValueError("Variable: initial_value must be given")
        if callable(initial_value):
            initial_value = initial_value() if shape is None else initial_value(shape)
        value = np.array(constant(initial_value, dtype).numpy(), order="C")
        name = name or ("Variable" if not (n := next(_numbers)) else f"Variable_{n}")
        self.value = _device.to_device(value) if value.dtype == np.float32 else value
        self.name = name
        self.path = name
        self.trainable = bool(trainable)
        self.regularizer = None


__all__ = ["Variable"]
