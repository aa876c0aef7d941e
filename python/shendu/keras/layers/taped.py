"""Layers and GradientTape: how a layer call is recorded, and how a layer that defines only
``call`` gets its ``forward`` / ``backward``.

* A built-in layer (or model) called on data under a tape is recorded as one operation: its
  inputs and weights in, its outputs out, and its own ``backward`` with the ``ctx`` that its
  ``forward`` returned. A model call is therefore one node whatever its depth, and its backward
  is the one ``fit`` runs (``need_dx=False`` when the inputs need no gradient).
* A layer that defines ``call`` (a user's subclass) is called as Python: the tensor operations
  and layer calls inside its ``call`` are recorded one by one. Inside a Sequential or functional
  model, whose graph runs ``forward`` / ``backward``, its ``forward`` runs ``call`` under a private
  tape (kept apart from any tape the user has open) and its ``backward`` asks that tape for the
  gradients of the inputs and weights.
"""

from __future__ import annotations

import inspect

import numpy as np

from ... import _device
from ... import tape as _tape
from ...tensor import Tensor, eager, raw


def _flat(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def record_call(layer, inputs, outputs, ctx) -> None:
    """Records a forward call of layer (inputs -> outputs, as the caller passed and received
    them) on the active tapes that watch an input or one of its weights."""
    ins, outs = _flat(inputs), _flat(outputs)
    weights = layer.weights
    n = len(ins)
    multi_in, multi_out = isinstance(inputs, (list, tuple)), isinstance(outputs, (list, tuple))

    def backward(douts, need):
        dy = [
            _device.to_device(raw(d))
            if d is not None
            else _device.array_module().zeros(o.shape, o.dtype)
            for d, o in zip(douts, outs)
        ]
        dy = dy if multi_out else dy[0]
        if not any(need[:n]) and getattr(layer, "_can_skip_dx", False):
            dx, dw = layer.backward(ctx, dy, need_dx=False)
            dx = [None] * n
        else:
            dx, dw = layer.backward(ctx, dy)
            dx = [None if d is None else _device.to_host(d) for d in (dx if multi_in else [dx])]
        return list(dx) + list(dw)

    _tape.record(layer.name, ins + weights, outs, backward)


def accepts_training(layer) -> bool:
    """Whether layer.call takes a ``training`` argument (Keras passes it only then)."""
    params = inspect.signature(type(layer).call).parameters
    return "training" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def as_call_input(x):
    """A call argument as call() sees it: tensors and variables as they are (a tape knows them
    by identity), other arrays as float32 tensors (integers kept)."""
    if isinstance(x, (list, tuple)):
        return [as_call_input(v) for v in x]
    if isinstance(x, Tensor) or getattr(x, "_is_variable", False) or _device._is_cupy(x):
        return x
    a = np.asarray(x)
    return eager(a if a.dtype.kind in "iub" else a.astype(np.float32, copy=False))


def run_call(layer, inputs, training):
    if accepts_training(layer):
        return layer.call(inputs, training=training)
    return layer.call(inputs)


def forward_by_call(layer, inputs, training):
    """forward() of a layer that defines call(): outputs as arrays, and a private tape as ctx."""
    xs = eager(inputs)
    with _tape.isolated(), _tape.GradientTape() as tape:
        tape.watch(xs)
        out = run_call(layer, xs, training)
    outs = [raw(o) for o in _flat(out)]
    return (outs if isinstance(out, (list, tuple)) else outs[0]), (tape, xs, out)


def backward_by_call(layer, ctx, doutputs):
    """backward() of a layer that defines call(): the private tape's input and weight gradients
    (zeros where the output does not depend on them)."""
    tape, xs, out = ctx
    weights = layer.weights
    dx, dw = tape.gradient(
        out, [xs, weights], output_gradients=doutputs, unconnected_gradients="zero"
    )
    dx = [raw(d) for d in dx] if isinstance(xs, list) else raw(dx)
    return dx, [raw(d) for d in dw]


def output_shape_by_call(layer, input_shape):
    """compute_output_shape() of a layer that defines call(): its call on zeros, one sample."""

    def sample(shape):
        return np.zeros(tuple(1 if d is None else d for d in shape), np.float32)

    multi = isinstance(input_shape, list)
    probe = [sample(s) for s in input_shape] if multi else sample(input_shape)
    with _tape.isolated():
        out = run_call(layer, eager(probe), False)
    shapes = [(None,) + tuple(np.shape(o))[1:] for o in _flat(out)]
    return shapes if isinstance(out, (list, tuple)) else shapes[0]
