"""tf.nn: activations and cross-entropies on tensors, with gradients for GradientTape.

Computed with NumPy in the input's dtype (so float64 gradient checks are exact to rounding);
softmax, log_softmax and the cross-entropies subtract the row maximum first, so large logits do
not overflow.
"""

from __future__ import annotations

import numpy as np

from . import random as _random
from .math import _arr, _record, sigmoid, tanh


def relu(features, name=None):
    x = _arr(features)
    return _record("relu", (features,), np.maximum(x, 0), lambda d: (d * (x > 0),))


def _log_softmax(a, axis):
    shifted = a - a.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def softmax(logits, axis=-1, name=None):
    a = _arr(logits)
    out = np.exp(_log_softmax(a, axis))
    return _record(
        "softmax",
        (logits,),
        out,
        lambda d: (out * (d - (d * out).sum(axis=axis, keepdims=True)),),
    )


def log_softmax(logits, axis=-1, name=None):
    out = _log_softmax(_arr(logits), axis)
    return _record(
        "log_softmax",
        (logits,),
        out,
        lambda d: (d - np.exp(out) * d.sum(axis=axis, keepdims=True),),
    )


def sparse_softmax_cross_entropy_with_logits(labels=None, logits=None, name=None):
    """Per-example -log softmax(logits)[label]; labels are integer class ids (no gradient)."""
    z = _arr(logits)
    ids = np.asarray(_arr(labels)).astype(np.int64)
    if ids.shape != z.shape[:-1]:
        raise ValueError(
            f"sparse_softmax_cross_entropy_with_logits: labels of shape {ids.shape} do not "
            f"match logits of shape {z.shape} (expected labels of shape {z.shape[:-1]})"
        )
    if ids.size and (ids.min() < 0 or ids.max() >= z.shape[-1]):
        raise ValueError(
            f"sparse_softmax_cross_entropy_with_logits: labels must be in [0, {z.shape[-1]}), "
            f"got values from {ids.min()} to {ids.max()}"
        )
    logp = _log_softmax(z, -1)
    picked = np.take_along_axis(logp, ids[..., None], axis=-1)[..., 0]

    def backward(d):
        g = np.exp(logp)
        np.put_along_axis(g, ids[..., None], np.take_along_axis(g, ids[..., None], -1) - 1, -1)
        return None, g * d[..., None]

    return _record("sparse_softmax_cross_entropy_with_logits", (labels, logits), -picked, backward)


def softmax_cross_entropy_with_logits(labels, logits, axis=-1, name=None):
    """Per-example -sum(labels * log softmax(logits)) over axis."""
    z, y = _arr(logits), _arr(labels)
    logp = _log_softmax(z, axis)
    return _record(
        "softmax_cross_entropy_with_logits",
        (labels, logits),
        -(y * logp).sum(axis=axis),
        lambda d: (
            -logp * np.expand_dims(d, axis),
            (np.exp(logp) * y.sum(axis=axis, keepdims=True) - y) * np.expand_dims(d, axis),
        ),
    )


def sigmoid_cross_entropy_with_logits(labels=None, logits=None, name=None):
    """Elementwise max(x, 0) - x z + log(1 + exp(-|x|)) for logits x and labels z."""
    x, z = _arr(logits), _arr(labels)
    out = np.maximum(x, 0) - x * z + np.log1p(np.exp(-np.abs(x)))
    return _record(
        "sigmoid_cross_entropy_with_logits",
        (labels, logits),
        out,
        lambda d: (-x * d, (1 / (1 + np.exp(-x)) - z) * d),
    )


def l2_loss(t, name=None):
    """sum(t ** 2) / 2."""
    a = _arr(t)
    return _record("l2_loss", (t,), (a * a).sum() / 2, lambda d: (d * a,))


def dropout(x, rate, noise_shape=None, seed=None, name=None):
    """Zeroes each value with probability rate and scales the rest by 1 / (1 - rate)."""
    if not 0 <= rate < 1:
        raise ValueError(f"dropout: rate must be in [0, 1), got {rate!r}")
    a = _arr(x)
    rng = np.random.default_rng(seed) if seed is not None else _random.generator()
    keep = (rng.random(a.shape if noise_shape is None else noise_shape) >= rate) / (1 - rate)
    keep = keep.astype(a.dtype)
    return _record("dropout", (x,), a * keep, lambda d: (d * keep,))


__all__ = [
    "relu",
    "sigmoid",
    "tanh",
    "softmax",
    "log_softmax",
    "sparse_softmax_cross_entropy_with_logits",
    "softmax_cross_entropy_with_logits",
    "sigmoid_cross_entropy_with_logits",
    "l2_loss",
    "dropout",
]


def __getattr__(name):
    raise AttributeError(f"shendu does not provide tf.nn.{name}")
