"""keras.ops: shendu's tensor operations under Keras 3's names (recorded by GradientTape, like
their tf spellings in shendu.math and shendu.nn)."""

from __future__ import annotations

from .. import core as _core
from .. import math as _math
from .. import nn as _nn

add, subtract, multiply, divide = _math.add, _math.subtract, _math.multiply, _math.divide
power, negative, matmul = _math.pow, _math.negative, _math.matmul
square, sqrt, exp, log, abs = _math.square, _math.sqrt, _math.exp, _math.log, _math.abs  # noqa: A001
maximum, minimum, where, cast = _math.maximum, _math.minimum, _math.where, _math.cast
reshape, transpose, stack = _math.reshape, _math.transpose, _math.stack
expand_dims, squeeze, argmax, argmin = _math.expand_dims, _math.squeeze, _math.argmax, _math.argmin
stop_gradient, equal, greater, less = _math.stop_gradient, _math.equal, _math.greater, _math.less
relu, sigmoid, tanh, softplus = _nn.relu, _math.sigmoid, _math.tanh, _math.softplus
softmax, log_softmax = _nn.softmax, _nn.log_softmax
convert_to_tensor, zeros, ones = _core.convert_to_tensor, _core.zeros, _core.ones
zeros_like, ones_like, linspace = _core.zeros_like, _core.ones_like, _core.linspace
one_hot, norm = _core.one_hot, _core.norm


def sum(x, axis=None, keepdims=False):  # noqa: A001 - Keras's name
    return _math.reduce_sum(x, axis, keepdims)


def mean(x, axis=None, keepdims=False):
    return _math.reduce_mean(x, axis, keepdims)


def max(x, axis=None, keepdims=False, initial=None):  # noqa: A001 - Keras's name
    return _math.reduce_max(x, axis, keepdims)


def min(x, axis=None, keepdims=False, initial=None):  # noqa: A001 - Keras's name
    return _math.reduce_min(x, axis, keepdims)


def logsumexp(x, axis=None, keepdims=False):
    return _math.reduce_logsumexp(x, axis, keepdims)


def clip(x, x_min, x_max):
    return _math.clip_by_value(x, x_min, x_max)


def concatenate(xs, axis=0):
    return _math.concat(xs, axis)


def take(x, indices, axis=None):
    if axis is None:
        return _math.gather(_math.reshape(x, (-1,)), indices)
    return _math.gather(x, indices, axis=axis)


def arange(start, stop=None, step=1, dtype=None):
    return _core.range(start, stop, step, dtype)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Per-example cross-entropy of integer targets (of logits, or of probabilities)."""
    logits = output if from_logits else _math.log(_math.clip_by_value(output, 1e-7, 1 - 1e-7))
    return _nn.sparse_softmax_cross_entropy_with_logits(labels=target, logits=logits)


def __getattr__(name):
    raise AttributeError(f"shendu does not provide keras.ops.{name}")
