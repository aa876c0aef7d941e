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


# --- convolution and pooling (NHWC) --------------------------------------------------------------


def _pair(v):
    return (v, v) if isinstance(v, (int, np.integer)) else tuple(v)


def _axis(size, k, stride, padding):
    """(output size, padding before the first cell) along one axis; "same" follows TensorFlow."""
    if padding.lower() == "valid":
        if k > size:
            raise ValueError(f"window {k} is larger than the input ({size}) with padding 'valid'")
        return (size - k) // stride + 1, 0
    out = -(-size // stride)
    total = max((out - 1) * stride + k - size, 0)
    return out, total // 2


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


def conv2d_backward(dy, x, w, strides=(1, 1), padding="valid"):
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
            dxp[taps] += dy @ w[i, j].T
    dx = dxp[:, top : top + x.shape[1], left : left + x.shape[2], :]
    return dx, dw, dy.sum(axis=(0, 1, 2))


def max_pool2d(x, pool_size=(2, 2), strides=None, padding="valid"):
    x = _float(x)
    strides = pool_size if strides is None else strides
    n, h, w, c = x.shape
    ho, wo, _, _ = _geometry(x.shape, pool_size, strides, padding)
    y = np.empty((n, ho, wo, c), x.dtype)
    argmax = np.empty((n, ho, wo, c), np.int64)
    for oh, ow, rows, cols in _windows(x.shape, pool_size, strides, padding):
        window = x[:, rows, cols, :]  # only real cells: padding never wins
        width = window.shape[2]
        cells = window.reshape(n, window.shape[1] * width, c)
        # np.argmax returns the first maximum, and the first NaN when there is one.
        best = cells.argmax(axis=1)
        argmax[:, oh, ow, :] = (rows.start + best // width) * w + cols.start + best % width
        y[:, oh, ow, :] = np.take_along_axis(cells, best[:, None, :], axis=1)[:, 0]
    return y, argmax


def max_pool2d_backward(dy, argmax, x_shape):
    dy = _float(dy)
    n, h, w, c = x_shape
    dx = np.zeros((n, h * w, c), dy.dtype)
    batch = np.arange(n)[:, None, None, None]
    channel = np.arange(c)[None, None, None, :]
    np.add.at(dx, (batch, argmax, channel), dy)  # overlapping windows accumulate
    return dx.reshape(x_shape)


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


# --- embedding, dropout --------------------------------------------------------------------------


# --- losses --------------------------------------------------------------------------------------


# --- optimizers ----------------------------------------------------------------------------------
