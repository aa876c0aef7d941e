"""NumPy twins of every op in ``shendu.ops``: plain, readable, and the definition of correct.

Same signatures and return values as ``shendu.ops`` (see its docstrings for the contract). They
keep the input's float dtype, so they run in float64 for gradient checks.
"""

from __future__ import annotations

import math

import numpy as np


def _float(x):
    """Float arrays keep their dtype (float64 for gradient checks); anything else becomes float32."""
    x = np.asarray(x)
    return x if x.dtype in (np.float32, np.float64) else x.astype(np.float32)


# --- matrix products, dense layers, activations ------------------------------------------------


def matmul(a, b, trans_a=False, trans_b=False):
    a, b = _float(a), _float(b)
    return (a.T if trans_a else a) @ (b.T if trans_b else b)


# --- convolution and pooling (NHWC) --------------------------------------------------------------


# --- recurrent layers ----------------------------------------------------------------------------


# --- embedding, dropout --------------------------------------------------------------------------


def embedding(ids, table):
    return _float(table)[np.asarray(ids, dtype=np.int64)]


def embedding_backward(dy, ids, vocab_size):
    dy = _float(dy)
    dtable = np.zeros((vocab_size, dy.shape[-1]), dy.dtype)
    # np.add.at accumulates repeated ids (plain fancy-index += would keep only the last one).
    np.add.at(dtable, np.asarray(ids, dtype=np.int64).reshape(-1), dy.reshape(-1, dy.shape[-1]))
    return dtable


def _splitmix64(z):
    """The splitmix64 finalizer on a uint64 array (NumPy wraps array arithmetic mod 2**64)."""
    z = z + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def dropout(x, rate, seed):
    x = _float(x)
    counters = np.uint64((int(seed) % 2**32) << 32) + np.arange(x.size, dtype=np.uint64)
    u = (_splitmix64(counters) >> np.uint64(40)).astype(np.float64) / 2**24
    mask = np.where(u < rate, np.float32(0), np.float32(1 / (1 - rate))).reshape(x.shape)
    return x * mask, mask


# --- losses --------------------------------------------------------------------------------------


def _mean(per_item):
    """Mean accumulated in float64, as a Python float; 0.0 for an empty batch."""
    return float(per_item.sum(dtype=np.float64) / per_item.size) if per_item.size else 0.0


def _log_softmax(logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def sparse_softmax_cross_entropy(logits, labels):
    logits = _float(logits)
    labels = np.asarray(labels, dtype=np.int64)
    n = logits.shape[0]
    if n == 0:
        return 0.0, np.zeros_like(logits)
    log_p = _log_softmax(logits)
    rows = np.arange(n)
    grad = np.exp(log_p)
    grad[rows, labels] -= 1
    return _mean(-log_p[rows, labels]), grad / n


def softmax_cross_entropy(logits, onehot):
    logits, t = _float(logits), _float(onehot)
    n = logits.shape[0]
    if n == 0:
        return 0.0, np.zeros_like(logits)
    log_p = _log_softmax(logits)
    grad = (np.exp(log_p) * t.sum(axis=-1, keepdims=True) - t) / n
    return _mean(-(t * log_p).sum(axis=-1)), grad


def binary_cross_entropy(probs, targets):
    p, t = _float(probs), _float(targets)
    lo, hi = 1e-7, 1 - 1e-7
    pc = np.clip(p, lo, hi)
    loss = -(t * np.log(pc) + (1 - t) * np.log(1 - pc))
    grad = np.where((p < lo) | (p > hi), 0, (1 - t) / (1 - pc) - t / pc)
    return _mean(loss), grad / max(p.size, 1)


def sigmoid_binary_cross_entropy(logits, targets):
    x, t = _float(logits), _float(targets)
    e = np.exp(-np.abs(x))  # never overflows
    sigmoid = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
    loss = np.maximum(x, 0) - x * t + np.log1p(e)
    return _mean(loss), (sigmoid - t) / max(x.size, 1)


def mean_squared_error(pred, targets):
    p, t = _float(pred), _float(targets)
    d = p - t
    return _mean(d * d), 2 * d / max(p.size, 1)


# --- optimizers ----------------------------------------------------------------------------------
# In place, in the dtype of param, with Keras 3's operation order (so float32 results match the
# native kernels to the last bit or so).


def sgd_update(param, grad, velocity=None, learning_rate=0.01, momentum=0.0, nesterov=False):
    grad = np.asarray(grad, dtype=param.dtype)
    if velocity is None:
        param -= grad * learning_rate
        return None
    velocity[...] = velocity * momentum - grad * learning_rate
    param += velocity * momentum - grad * learning_rate if nesterov else velocity
    return None


def adam_update(param, grad, m, v, step, learning_rate=0.001, beta_1=0.9, beta_2=0.999,
                epsilon=1e-7):
    grad = np.asarray(grad, dtype=param.dtype)
    alpha = learning_rate * math.sqrt(1 - beta_2**step) / (1 - beta_1**step)
    m += (grad - m) * (1 - beta_1)
    v += (grad * grad - v) * (1 - beta_2)
    param -= m * alpha / (np.sqrt(v) + epsilon)
    return None


def rmsprop_update(param, grad, avg_sq, learning_rate=0.001, rho=0.9, epsilon=1e-7):
    grad = np.asarray(grad, dtype=param.dtype)
    avg_sq[...] = rho * avg_sq + (1 - rho) * (grad * grad)
    param -= learning_rate * grad / np.sqrt(avg_sq + epsilon)
    return None
