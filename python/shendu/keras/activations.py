"""keras.activations: the activations the kernels implement, by Keras name.

Layers keep an activation as its canonical name and run it through ``forward`` / ``backward``,
which call the ops; the public functions (``relu(x)`` ...) apply it to an array like Keras's.
"""

from __future__ import annotations

from .. import ops
from .tensors import eager

ACCEPTED = ("linear", "relu", "sigmoid", "tanh", "softmax")

_FORWARD = {"relu": ops.relu, "sigmoid": ops.sigmoid, "tanh": ops.tanh, "softmax": ops.softmax}
_BACKWARD = {"relu": ops.relu_backward, "sigmoid": ops.sigmoid_backward,
             "tanh": ops.tanh_backward, "softmax": ops.softmax_backward}


def get(identifier) -> str:
    """Canonical name of an activation given as None, a string, or one of these functions."""
    if identifier is None:
        return "linear"
    name = getattr(identifier, "__name__", identifier) if callable(identifier) else identifier
    if isinstance(name, str) and name in ACCEPTED:
        return name
    raise ValueError(f"Unknown activation: {identifier!r}. Accepted activations: "
                     f"{', '.join(repr(a) for a in ACCEPTED)} (or None).")


def serialize(name: str) -> str:
    return name


def deserialize(name):
    return get(name)


def forward(name: str, x):
    """y = activation(x) (softmax over the last axis)."""
    return x if name == "linear" else _FORWARD[name](x)


def backward(name: str, dy, y):
    """dL/dx from dL/dy and the forward output y."""
    return dy if name == "linear" else _BACKWARD[name](dy, y)


def linear(x):
    return eager(x)


def relu(x):
    return eager(ops.relu(x))


def sigmoid(x):
    return eager(ops.sigmoid(x))


def tanh(x):
    return eager(ops.tanh(x))


def softmax(x, axis=-1):
    if axis != -1:
        raise ValueError(f"softmax: only axis=-1 is supported, got axis={axis!r}")
    return eager(ops.softmax(x))
