"""NumPy twins of every op in ``shendu.ops``: plain, readable, and the definition of correct.

Same signatures and return values as ``shendu.ops`` (see its docstrings for the contract). They
keep the input's float dtype, so they run in float64 for gradient checks.
"""

from __future__ import annotations

import math

import numpy as np

from ._padding import window_axis


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


def dense_backward(dy, x, w, y, activation="linear", need_dx=True):
    x, w = _float(x), _float(w)
    dz = _activation(activation)[1](dy, y)
    return (dz @ w.T if need_dx else None), x.T @ dz, dz.sum(axis=0)


# --- convolution and pooling (NHWC) --------------------------------------------------------------


def _pair(v):
    return (v, v) if isinstance(v, (int, np.integer)) else tuple(v)


def _axis(size, k, stride, padding):
    """window_axis, refusing a 'valid' window larger than the input."""
    padding = padding.lower()
    if padding == "valid" and k > size:
        raise ValueError(f"window {k} is larger than the input ({size}) with padding 'valid'")
    return window_axis(size, k, stride, padding)


def _geometry(shape, window, strides, padding):
    """(ho, wo, top, left) of a window sliding over the H, W axes of an NHWC shape."""
    (kh, kw), (sh, sw) = _pair(window), _pair(strides)
    ho, top = _axis(shape[1], kh, sh, padding)
    wo, left = _axis(shape[2], kw, sw, padding)
    return ho, wo, top, left


def _windows(shape, window, strides, padding):
    """Yields (oh, ow, rows, cols): the real input cells (slices) of every output cell's window."""
    (kh, kw), (sh, sw) = _pair(window), _pair(strides)
    ho, wo, top, left = _geometry(shape, window, strides, padding)
    for oh in range(ho):
        h0 = oh * sh - top
        for ow in range(wo):
            w0 = ow * sw - left
            yield oh, ow, slice(max(h0, 0), h0 + kh), slice(max(w0, 0), w0 + kw)


def _padded(x, w, strides, padding):
    """x with its implicit zero padding made explicit, large enough for every window of w."""
    (sh, sw), (kh, kw) = _pair(strides), w.shape[:2]
    ho, wo, top, left = _geometry(x.shape, w.shape[:2], strides, padding)
    bottom = max((ho - 1) * sh + kh - x.shape[1] - top, 0)
    right = max((wo - 1) * sw + kw - x.shape[2] - left, 0)
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))


def conv2d(x, w, b=None, strides=(1, 1), padding="valid"):
    x, w = _float(x), _float(w)
    (sh, sw), (kh, kw) = _pair(strides), w.shape[:2]
    ho, wo, _, _ = _geometry(x.shape, w.shape[:2], strides, padding)
    xp = _padded(x, w, strides, padding)
    y = np.zeros((x.shape[0], ho, wo, w.shape[3]), np.result_type(x, w))
    for i in range(kh):
        for j in range(kw):
            # Input cells that kernel tap (i, j) sees, for every output cell: (N, ho, wo, C).
            patch = xp[:, i : i + (ho - 1) * sh + 1 : sh, j : j + (wo - 1) * sw + 1 : sw, :]
            y += patch @ w[i, j]
    return y if b is None else y + _float(b)


def conv2d_backward(dy, x, w, strides=(1, 1), padding="valid", need_dx=True):
    dy, x, w = _float(dy), _float(x), _float(w)
    (sh, sw), (kh, kw) = _pair(strides), w.shape[:2]
    ho, wo, top, left = _geometry(x.shape, w.shape[:2], strides, padding)
    xp = _padded(x, w, strides, padding)
    dxp = np.zeros(xp.shape, np.result_type(dy, w))
    dw = np.zeros(w.shape, np.result_type(dy, x))
    for i in range(kh):
        for j in range(kw):
            rows, cols = slice(i, i + (ho - 1) * sh + 1, sh), slice(j, j + (wo - 1) * sw + 1, sw)
            taps = (slice(None), rows, cols)
            dw[i, j] = np.tensordot(xp[taps], dy, axes=([0, 1, 2], [0, 1, 2]))
            if need_dx:
                dxp[taps] += dy @ w[i, j].T
    dx = dxp[:, top : top + x.shape[1], left : left + x.shape[2], :] if need_dx else None
    return dx, dw, dy.sum(axis=(0, 1, 2))


def _tap_dtype(pool_size):
    """max_pool2d's argmax dtype: a byte for windows of up to 256 cells (see ops.max_pool2d).
    The CUDA backend uses this rule too (CuPy takes NumPy's dtypes); pool2d.h states it for C++."""
    kh, kw = _pair(pool_size)
    if kh * kw > 65536:
        raise ValueError(
            f"pool_size: window ({kh}, {kw}) has {kh * kw} cells; max_pool2d's argmax (uint16) "
            "holds at most 65536"
        )
    return np.uint8 if kh * kw <= 256 else np.uint16


def max_pool2d(x, pool_size=(2, 2), strides=None, padding="valid"):
    x = _float(x)
    strides = pool_size if strides is None else strides
    kw = _pair(pool_size)[1]
    (sh, sw), (n, _, _, c) = _pair(strides), x.shape
    ho, wo, top, left = _geometry(x.shape, pool_size, strides, padding)
    y = np.empty((n, ho, wo, c), x.dtype)
    argmax = np.empty((n, ho, wo, c), _tap_dtype(pool_size))
    for oh, ow, rows, cols in _windows(x.shape, pool_size, strides, padding):
        window = x[:, rows, cols, :]  # only real cells: padding never wins
        width = window.shape[2]
        cells = window.reshape(n, window.shape[1] * width, c)
        # np.argmax returns the first maximum, and the first NaN when there is one.
        best = cells.argmax(axis=1)
        # The tap (i, j) of the full window, counting the padded rows/columns before it.
        i = rows.start - (oh * sh - top) + best // width
        j = cols.start - (ow * sw - left) + best % width
        argmax[:, oh, ow, :] = i * kw + j
        y[:, oh, ow, :] = np.take_along_axis(cells, best[:, None, :], axis=1)[:, 0]
    return y, argmax


def max_pool2d_backward(dy, argmax, x_shape, pool_size=(2, 2), strides=None, padding="valid"):
    dy = _float(dy)
    strides = pool_size if strides is None else strides
    (kh, kw), (sh, sw) = _pair(pool_size), _pair(strides)
    _, _, top, left = _geometry(x_shape, pool_size, strides, padding)
    n, h, w, c = x_shape
    # Padded so that every tap of every window is a cell; overlapping windows accumulate.
    dxp = np.zeros((n, h + 2 * kh, w + 2 * kw, c), dy.dtype)
    batch = np.arange(n)[:, None, None, None]
    channel = np.arange(c)[None, None, None, :]
    oh = np.arange(dy.shape[1])[None, :, None, None]
    ow = np.arange(dy.shape[2])[None, None, :, None]
    rows = oh * sh - top + argmax // kw + kh
    cols = ow * sw - left + argmax % kw + kw
    np.add.at(dxp, (batch, rows, cols, channel), dy)
    return dxp[:, kh : kh + h, kw : kw + w, :]


def avg_pool2d(x, pool_size=(2, 2), strides=None, padding="valid"):
    x = _float(x)
    strides = pool_size if strides is None else strides
    ho, wo, _, _ = _geometry(x.shape, pool_size, strides, padding)
    y = np.empty((x.shape[0], ho, wo, x.shape[3]), x.dtype)
    for oh, ow, rows, cols in _windows(x.shape, pool_size, strides, padding):
        y[:, oh, ow, :] = x[:, rows, cols, :].mean(axis=(1, 2))
    return y


def avg_pool2d_backward(dy, x_shape, pool_size=(2, 2), strides=None, padding="valid"):
    dy = _float(dy)
    strides = pool_size if strides is None else strides
    dx = np.zeros(x_shape, dy.dtype)
    for oh, ow, rows, cols in _windows(x_shape, pool_size, strides, padding):
        cells = dx[:, rows, cols, :]
        cells += dy[:, oh, ow, None, None, :] / (cells.shape[1] * cells.shape[2])
    return dx


# --- recurrent layers ----------------------------------------------------------------------------


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # no overflow warning for large |x|


def _rnn_start(x, kernel, recurrent_kernel, h0):
    """Float views of the common arguments, the units U and the initial state (zeros for None)."""
    x, kernel, recurrent_kernel = _float(x), _float(kernel), _float(recurrent_kernel)
    units = recurrent_kernel.shape[0]
    h = np.zeros((x.shape[0], units), x.dtype) if h0 is None else _float(h0)
    return x, kernel, recurrent_kernel, units, h


def _keep(mask, t, like):
    """Step t's mask as an (N, 1) column of 0/1 in like's dtype: 0 where the step is skipped
    (every state keeps its previous value; see ops.lstm)."""
    if mask is None:
        return np.ones((like.shape[0], 1), like.dtype)
    return (np.asarray(mask)[:, t, None] != 0).astype(like.dtype)


def lstm(x, kernel, recurrent_kernel, bias, h0=None, c0=None, mask=None):
    x, kernel, recurrent_kernel, units, h = _rnn_start(x, kernel, recurrent_kernel, h0)
    c = np.zeros_like(h) if c0 is None else _float(c0)
    xw = x @ kernel + (0 if bias is None else _float(bias))
    hs = np.zeros(x.shape[:2] + (units,), h.dtype)
    steps = []
    for t in range(x.shape[1]):
        z = xw[:, t] + h @ recurrent_kernel
        i, f, g, o = np.split(z, 4, axis=1)
        i, f, g, o = _sigmoid(i), _sigmoid(f), np.tanh(g), _sigmoid(o)
        steps.append((h, c, i, f, g, o))
        keep = _keep(mask, t, h)
        c_new = f * c + i * g
        h = keep * (o * np.tanh(c_new)) + (1 - keep) * h
        c = keep * c_new + (1 - keep) * c
        hs[:, t] = h
    return hs, h, c, steps


def lstm_backward(dhs, dh_T, dc_T, x, kernel, recurrent_kernel, cache, h0=None, c0=None, mask=None):
    dhs, x, kernel, recurrent_kernel = (
        _float(dhs),
        _float(x),
        _float(kernel),
        _float(recurrent_kernel),
    )
    n, units = dhs.shape[0], dhs.shape[2]
    dh = np.zeros((n, units), dhs.dtype) if dh_T is None else _float(dh_T)
    dc = np.zeros_like(dh) if dc_T is None else _float(dc_T)
    dx = np.zeros(x.shape, dhs.dtype)
    dkernel, drecurrent = (
        np.zeros(kernel.shape, dhs.dtype),
        np.zeros(recurrent_kernel.shape, dhs.dtype),
    )
    dbias = np.zeros(4 * units, dhs.dtype)
    for t in reversed(range(x.shape[1])):
        h_prev, c_prev, i, f, g, o = cache[t]
        keep = _keep(mask, t, dh)
        tc = np.tanh(f * c_prev + i * g)
        dh = dh + dhs[:, t]
        dc_step = dc + dh * o * (1 - tc**2)
        dz = keep * np.concatenate(
            [
                dc_step * g * i * (1 - i),
                dc_step * c_prev * f * (1 - f),
                dc_step * i * (1 - g**2),
                dh * tc * o * (1 - o),
            ],
            axis=1,
        )
        dkernel += x[:, t].T @ dz
        drecurrent += h_prev.T @ dz
        dbias += dz.sum(axis=0)
        dx[:, t] = dz @ kernel.T
        dh = dz @ recurrent_kernel.T + (1 - keep) * dh
        dc = keep * dc_step * f + (1 - keep) * dc
    return dx, dkernel, drecurrent, dbias, dh, dc


def gru(x, kernel, recurrent_kernel, bias, h0=None, mask=None):
    x, kernel, recurrent_kernel, units, h = _rnn_start(x, kernel, recurrent_kernel, h0)
    bias = np.zeros((2, 3 * units), h.dtype) if bias is None else _float(bias)
    xw = x @ kernel + bias[0]
    hs = np.zeros(x.shape[:2] + (units,), h.dtype)
    steps = []
    for t in range(x.shape[1]):
        xz, xr, xh = np.split(xw[:, t], 3, axis=1)
        rz, rr, rh = np.split(h @ recurrent_kernel + bias[1], 3, axis=1)
        z, r = _sigmoid(xz + rz), _sigmoid(xr + rr)
        hh = np.tanh(xh + r * rh)
        steps.append((h, z, r, hh, rh))
        keep = _keep(mask, t, h)
        h = keep * (z * h + (1 - z) * hh) + (1 - keep) * h
        hs[:, t] = h
    return hs, h, steps


def gru_backward(dhs, dh_T, x, kernel, recurrent_kernel, cache, h0=None, mask=None):
    dhs, x, kernel, recurrent_kernel = (
        _float(dhs),
        _float(x),
        _float(kernel),
        _float(recurrent_kernel),
    )
    n, units = dhs.shape[0], dhs.shape[2]
    dh = np.zeros((n, units), dhs.dtype) if dh_T is None else _float(dh_T)
    dx = np.zeros(x.shape, dhs.dtype)
    dkernel, drecurrent = (
        np.zeros(kernel.shape, dhs.dtype),
        np.zeros(recurrent_kernel.shape, dhs.dtype),
    )
    dbias = np.zeros((2, 3 * units), dhs.dtype)
    for t in reversed(range(x.shape[1])):
        h_prev, z, r, hh, rh = cache[t]
        keep = _keep(mask, t, dh)
        dh = dh + dhs[:, t]
        dz = keep * dh * (h_prev - hh) * z * (1 - z)
        dhh = keep * dh * (1 - z) * (1 - hh**2)
        dr = dhh * rh * r * (1 - r)
        dx_gates = np.concatenate([dz, dr, dhh], axis=1)  # w.r.t. x @ kernel + bias[0]
        drec_gates = np.concatenate([dz, dr, dhh * r], axis=1)  # w.r.t. h @ recurrent + bias[1]
        dkernel += x[:, t].T @ dx_gates
        drecurrent += h_prev.T @ drec_gates
        dbias[0] += dx_gates.sum(axis=0)
        dbias[1] += drec_gates.sum(axis=0)
        dx[:, t] = dx_gates @ kernel.T
        dh = dh * (keep * z + 1 - keep) + drec_gates @ recurrent_kernel.T
    return dx, dkernel, drecurrent, dbias, dh


def simple_rnn(x, kernel, recurrent_kernel, bias, h0=None, mask=None):
    x, kernel, recurrent_kernel, units, h = _rnn_start(x, kernel, recurrent_kernel, h0)
    xw = x @ kernel + (0 if bias is None else _float(bias))
    hs = np.zeros(x.shape[:2] + (units,), h.dtype)
    steps, acts = [], np.zeros_like(hs)
    for t in range(x.shape[1]):
        steps.append(h)
        acts[:, t] = np.tanh(xw[:, t] + h @ recurrent_kernel)
        keep = _keep(mask, t, h)
        h = keep * acts[:, t] + (1 - keep) * h
        hs[:, t] = h
    return hs, h, (steps, acts)


def simple_rnn_backward(dhs, dh_T, x, kernel, recurrent_kernel, cache, h0=None, mask=None):
    dhs, x, kernel, recurrent_kernel = (
        _float(dhs),
        _float(x),
        _float(kernel),
        _float(recurrent_kernel),
    )
    h_prevs, acts = cache
    dh = np.zeros((dhs.shape[0], dhs.shape[2]), dhs.dtype) if dh_T is None else _float(dh_T)
    dx = np.zeros(x.shape, dhs.dtype)
    dkernel, drecurrent = (
        np.zeros(kernel.shape, dhs.dtype),
        np.zeros(recurrent_kernel.shape, dhs.dtype),
    )
    dbias = np.zeros(dhs.shape[2], dhs.dtype)
    for t in reversed(range(x.shape[1])):
        keep = _keep(mask, t, dh)
        dh = dh + dhs[:, t]
        dz = keep * dh * (1 - acts[:, t] ** 2)
        dkernel += x[:, t].T @ dz
        drecurrent += h_prevs[t].T @ dz
        dbias += dz.sum(axis=0)
        dx[:, t] = dz @ kernel.T
        dh = dz @ recurrent_kernel.T + (1 - keep) * dh
    return dx, dkernel, drecurrent, dbias, dh


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


def _squared(grad, grad_sq):
    return grad * grad if grad_sq is None else np.asarray(grad_sq, dtype=grad.dtype)


def sgd_update(param, grad, velocity=None, learning_rate=0.01, momentum=0.0, nesterov=False):
    grad = np.asarray(grad, dtype=param.dtype)
    if velocity is None:
        param -= grad * learning_rate
        return None
    velocity[...] = velocity * momentum - grad * learning_rate
    param += velocity * momentum - grad * learning_rate if nesterov else velocity
    return None


def adam_update(
    param,
    grad,
    m,
    v,
    step,
    learning_rate=0.001,
    beta_1=0.9,
    beta_2=0.999,
    epsilon=1e-7,
    grad_sq=None,
):
    grad = np.asarray(grad, dtype=param.dtype)
    alpha = learning_rate * math.sqrt(1 - beta_2**step) / (1 - beta_1**step)
    m += (grad - m) * (1 - beta_1)
    v += (_squared(grad, grad_sq) - v) * (1 - beta_2)
    param -= m * alpha / (np.sqrt(v) + epsilon)
    return None


def rmsprop_update(param, grad, avg_sq, learning_rate=0.001, rho=0.9, epsilon=1e-7, grad_sq=None):
    grad = np.asarray(grad, dtype=param.dtype)
    avg_sq[...] = rho * avg_sq + (1 - rho) * _squared(grad, grad_sq)
    param -= learning_rate * grad / np.sqrt(avg_sq + epsilon)
    return None
