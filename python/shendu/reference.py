"""NumPy twins of every op in ``shendu.ops``: plain, readable, and the definition of correct.

Same signatures and return values as ``shendu.ops`` (see its docstrings for the contract). They
keep the input's float dtype, so they run in float64 for gradient checks.
"""

from __future__ import annotations

import numpy as np


def _float(x):
    """Float arrays keep their dtype (float64 for gradient checks); anything else becomes float32."""
    x = np.asarray(x)
    return x if x.dtype in (np.float32, np.float64) else x.astype(np.float32)


# --- matrix products, dense layers, activations ------------------------------------------------


def matmul(a, b, trans_a=False, trans_b=False):
    a, b = _float(a), _float(b)
    return (a.T if trans_a else a) @ (b.T if trans_b else b)


def relu(x):
    x = _float(x)
    return np.maximum(x, x.dtype.type(0))  # np.maximum propagates NaN


def relu_backward(dy, y):
    dy, y = _float(dy), _float(y)
    return np.where(y > 0, dy, dy.dtype.type(0))


def sigmoid(x):
    x = _float(x)
    e = np.exp(-np.abs(x))  # never overflows: exp of a non-positive number
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype)


def sigmoid_backward(dy, y):
    dy, y = _float(dy), _float(y)
    return dy * y * (1 - y)


def tanh(x):
    return np.tanh(_float(x))


def tanh_backward(dy, y):
    dy, y = _float(dy), _float(y)
    return dy * (1 - y * y)


def softmax(x):
    x = _float(x)
    e = np.exp(x - np.max(x, axis=-1, keepdims=True, initial=-np.inf))
    return e / np.sum(e, axis=-1, keepdims=True)


def softmax_backward(dy, y):
    dy, y = _float(dy), _float(y)
    return y * (dy - np.sum(dy * y, axis=-1, keepdims=True))


_ACTIVATIONS = {
    "linear": (lambda z: z, lambda dy, y: _float(dy)),
    "relu": (relu, relu_backward),
    "sigmoid": (sigmoid, sigmoid_backward),
    "tanh": (tanh, tanh_backward),
    "softmax": (softmax, softmax_backward),
}


def _activation(name):
    if name is None:
        name = "linear"
    if name not in _ACTIVATIONS:
        raise ValueError(f"activation: expected one of {sorted(_ACTIVATIONS)}, got {name!r}")
    return _ACTIVATIONS[name]


def dense(x, w, b=None, activation="linear"):
    x, w = _float(x), _float(w)
    z = x @ w
    if b is not None:
        z = z + _float(b)
    return _activation(activation)[0](z)


def dense_backward(dy, x, w, y, activation="linear"):
    x, w = _float(x), _float(w)
    dz = _activation(activation)[1](dy, y)
    return dz @ w.T, x.T @ dz, dz.sum(axis=0)


# --- convolution and pooling (NHWC) --------------------------------------------------------------


# --- recurrent layers ----------------------------------------------------------------------------


# --- embedding, dropout --------------------------------------------------------------------------


# --- losses --------------------------------------------------------------------------------------


# --- optimizers ----------------------------------------------------------------------------------
