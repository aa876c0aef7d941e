"""Gradient clipping as Keras 3 applies it with TensorFlow (``clipnorm``, ``global_clipnorm``,
``clipvalue``), Embedding gradients included.

TensorFlow hands Keras an Embedding's gradient as IndexedSlices (one row per lookup, see
row_gradient), and the three clips treat them differently:

- ``clipnorm`` (``tf.clip_by_norm``): the norm of the lookups' rows, not of their per-row sum; the
  rows are scaled and stay separate (the second-moment optimizers still square each lookup).
- ``global_clipnorm``: each lookup's row squared into the global norm; the scaled result is the
  dense, summed gradient.
- ``clipvalue`` (``tf.clip_by_value``): each lookup's row clipped; they stay separate.

Gradients already summed over replicas (``SummedRows``) carry their lookups' squares, which give
the norms exactly; ``clipvalue`` clips their sum (a replica cannot clip rows it did not keep).
All arithmetic is float32, in TensorFlow's order.
"""

from __future__ import annotations

import numpy as np

from ... import _device
from ..row_gradient import RowGradient, SummedRows

_F32 = np.float32


def _sum_of_squares(grad) -> np.float32:
    """Sum of the squared entries (per lookup for row gradients), in float32."""
    if isinstance(grad, RowGradient):
        values = grad.rows
    elif isinstance(grad, SummedRows):
        return _F32(float(_device.array_module(grad.squares_value).sum(grad.squares_value)))
    else:
        values = grad
    xp = _device.array_module(values)
    return _F32(float(xp.sum(values * values, dtype=xp.float32)))


def _scaled(grad, clip, norm):
    """``grad * clip / max(norm, clip)`` on a gradient of any kind."""
    clip, denom = _F32(clip), max(_F32(norm), _F32(clip))
    if isinstance(grad, RowGradient):
        return RowGradient(grad.rows * clip / denom, grad.ids, grad.shape[0])
    if isinstance(grad, SummedRows):
        scale = clip / denom
        return SummedRows(grad.dense_value * scale, grad.squares_value * (scale * scale))
    return grad * clip / denom


def by_norm(grad, clipnorm):
    """``tf.clip_by_norm``: the gradient scaled to an L2 norm of at most ``clipnorm``."""
    total = _sum_of_squares(grad)
    norm = np.sqrt(total) if total > 0 else total
    return _scaled(grad, clipnorm, norm)


def by_global_norm(grads, clipnorm):
    """Keras's ``clip_by_global_norm``: every gradient scaled by one factor so that their joint
    L2 norm is at most ``clipnorm`` (NaN when the norm is not finite, as Keras)."""
    present = [g for g in grads if g is not None]
    norm = np.sqrt(_F32(sum(_sum_of_squares(g) for g in present)))
    clip = _F32(clipnorm)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = clip * min(_F32(1) / norm, _F32(1) / clip) + (norm - norm)
    out = []
    for g in grads:
        if isinstance(g, RowGradient):
            g = g.dense()
        elif isinstance(g, SummedRows):
            g = g.dense_value
        out.append(None if g is None else g * scale)
    return out


def by_value(grad, clipvalue):
    """``tf.clip_by_value`` to ``[-clipvalue, clipvalue]``."""
    low, high = _F32(-clipvalue), _F32(clipvalue)
    if isinstance(grad, RowGradient):
        xp = _device.array_module(grad.rows)
        return RowGradient(xp.clip(grad.rows, low, high), grad.ids, grad.shape[0])
    if isinstance(grad, SummedRows):
        grad = grad.dense_value
    return _device.array_module(grad).clip(grad, low, high)


def clip(grads, clipnorm=None, global_clipnorm=None, clipvalue=None):
    """The gradients clipped by whichever one option is set and > 0 (as Keras checks them)."""
    if clipnorm and clipnorm > 0:
        return [None if g is None else by_norm(g, clipnorm) for g in grads]
    if global_clipnorm and global_clipnorm > 0:
        return by_global_norm(grads, global_clipnorm)
    if clipvalue and clipvalue > 0:
        return [None if g is None else by_value(g, clipvalue) for g in grads]
    return list(grads)
