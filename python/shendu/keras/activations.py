"""keras.activations: the activations the kernels implement, by Keras name.

Layers keep an activation as its canonical name and run it through ``forward`` / ``backward``,
which call the ops; the public functions (``relu(x)`` ...) apply it to an array like Keras's.
The EPILOGUE activations fuse into the dense and convolution kernels and differentiate from their
output alone; the others (``ops.activation``) need their input too.
"""

from __future__ import annotations

from .. import ops
from .tensors import eager

EPILOGUE = ("linear", "relu", "sigmoid", "tanh", "softmax")
# Keras name -> shendu.ops.activation's name (the same but for gelu, approximate=False).
_POINTWISE = {
    "gelu": "gelu",
    "silu": "silu",
    "elu": "elu",
    "selu": "selu",
    "softplus": "softplus",
    "softsign": "softsign",
    "hard_sigmoid": "hard_sigmoid",
    "hard_silu": "hard_silu",
    "leaky_relu": "leaky_relu",
    "exponential": "exponential",
    "relu6": "relu6",
    "mish": "mish",
}
# Keras 3's aliases: get("swish") is silu, serialized as "silu".
_ALIASES = {"swish": "silu", "hard_swish": "hard_silu"}
ACCEPTED = EPILOGUE + tuple(_POINTWISE) + tuple(_ALIASES)

_FORWARD = {"relu": ops.relu, "sigmoid": ops.sigmoid, "tanh": ops.tanh, "softmax": ops.softmax}
_BACKWARD = {
    "relu": ops.relu_backward,
    "sigmoid": ops.sigmoid_backward,
    "tanh": ops.tanh_backward,
    "softmax": ops.softmax_backward,
}


def get(identifier) -> str:
    """Canonical name of an activation given as None, a string, or one of these functions."""
    if identifier is None:
        return "linear"
    name = getattr(identifier, "__name__", identifier) if callable(identifier) else identifier
    if isinstance(name, str) and name in ACCEPTED:
        return _ALIASES.get(name, name)
    raise ValueError(
        f"Unknown activation: {identifier!r}. Accepted activations: "
        f"{', '.join(repr(a) for a in ACCEPTED)} (or None)."
    )


def serialize(name: str) -> str:
    return name


def deserialize(name):
    return get(name)


def forward(name: str, x):
    """y = activation(x) (softmax over the last axis)."""
    if name == "linear":
        return x
    if name in _FORWARD:
        return _FORWARD[name](x)
    return ops.activation(x, _POINTWISE[name])


def backward(name: str, dy, y, x=None):
    """dL/dx from dL/dy, the forward output y and (for the non-EPILOGUE ones) its input x."""
    if name == "linear":
        return dy
    if name in _BACKWARD:
        return _BACKWARD[name](dy, y)
    return ops.activation_backward(dy, x, y, _POINTWISE[name])


def linear(x):
    return eager(x)


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    if negative_slope == 0 and max_value is None and threshold == 0:
        return eager(ops.relu(x))
    return eager(general_relu(x, negative_slope, max_value, threshold)[0])


def general_relu(x, negative_slope, max_value, threshold):
    """Keras's relu with its options on an array (NumPy or CuPy): x where x > threshold, capped
    at max_value, minus negative_slope * max(threshold - x, 0). Returns (y, dy/dx): the slope
    passes where the cap is not reached (at the cap too, as TF's clip_by_value) and
    negative_slope below the threshold."""
    above = x > threshold
    y = x * above
    slope = above.astype(x.dtype)
    if max_value is not None:
        slope *= y <= max_value
        y = y.clip(0, max_value)
    if negative_slope:
        below = x < threshold
        y = y - negative_slope * ((threshold - x) * below)
        slope = slope + negative_slope * below
    return y.astype(x.dtype, copy=False), slope


def sigmoid(x):
    return eager(ops.sigmoid(x))


def tanh(x):
    return eager(ops.tanh(x))


def softmax(x, axis=-1):
    if axis != -1:
        raise ValueError(f"softmax: only axis=-1 is supported, got axis={axis!r}")
    return eager(ops.softmax(x))


def gelu(x, approximate=False):
    return eager(ops.activation(x, "gelu_approximate" if approximate else "gelu"))


def elu(x, alpha=1.0):
    return eager(ops.activation(x, "elu", alpha))


def leaky_relu(x, negative_slope=0.2):
    return eager(ops.activation(x, "leaky_relu", negative_slope))


def _pointwise_function(name):
    def apply(x):
        return eager(ops.activation(x, name))

    apply.__name__ = apply.__qualname__ = name
    apply.__doc__ = f"keras.activations.{name}: shendu.ops.activation(x, {name!r})."
    return apply


silu = _pointwise_function("silu")
selu = _pointwise_function("selu")
softplus = _pointwise_function("softplus")
softsign = _pointwise_function("softsign")
hard_sigmoid = _pointwise_function("hard_sigmoid")
hard_silu = _pointwise_function("hard_silu")
exponential = _pointwise_function("exponential")
relu6 = _pointwise_function("relu6")
mish = _pointwise_function("mish")
swish = silu
hard_swish = hard_silu
