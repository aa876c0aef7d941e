"""NumPy twins of every op in ``shendu.ops``: plain, readable, and the definition of correct.

Same signatures and return values as ``shendu.ops`` (see its docstrings for the contract). They
keep the input's float dtype, so they run in float64 for gradient checks.
"""

from __future__ import annotations

import math

import numpy as np

from . import _pointwise
from ._padding import transpose_size, window_axis


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


_MAX_WINDOW = 2**31 - 1  # as the native binding: window arithmetic stays within 64 bits


def _window_pair(v, name):
    pair = _pair(v)
    if not all(0 < int(k) <= _MAX_WINDOW for k in pair):
        if name == "w":  # the window of a kernel array's shape
            raise ValueError(
                f"w: expected a window of 1 to {_MAX_WINDOW} cells per axis, got {tuple(pair)}"
            )
        raise ValueError(f"{name}: expected positive values up to {_MAX_WINDOW}, got {v!r}")
    return pair


def _axis(size, k, stride, padding):
    """window_axis, refusing a 'valid' window larger than the input."""
    padding = padding.lower()
    if padding == "valid" and k > size:
        raise ValueError(f"window {k} is larger than the input ({size}) with padding 'valid'")
    return window_axis(size, k, stride, padding)


def _geometry(shape, window, strides, padding, window_name="pool_size"):
    """(ho, wo, top, left) of a window sliding over the H, W axes of an NHWC shape."""
    (kh, kw), (sh, sw) = _window_pair(window, window_name), _window_pair(strides, "strides")
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


def _pads(x_shape, window, strides, padding):
    """((top, bottom), (left, right)): the zero padding that makes every window real cells."""
    (sh, sw), (kh, kw) = _pair(strides), _pair(window)
    ho, wo, top, left = _geometry(x_shape, window, strides, padding)
    bottom = max((ho - 1) * sh + kh - x_shape[1] - top, 0)
    right = max((wo - 1) * sw + kw - x_shape[2] - left, 0)
    return (top, bottom), (left, right)


def _padded(x, window, strides, padding):
    """x with its implicit zero padding made explicit, large enough for every window."""
    return np.pad(x, ((0, 0), *_pads(x.shape, window, strides, padding), (0, 0)))


def _dilation(dilation_rate, strides):
    """dilation_rate as a pair; > 1 only with strides 1, as Keras allows."""
    d = _pair(dilation_rate)
    if min(d) < 1:
        raise ValueError(f"dilation_rate: expected positive values, got {dilation_rate!r}")
    if max(d) > 1 and max(_pair(strides)) > 1:
        raise ValueError(
            f"dilation_rate: {dilation_rate!r} > 1 needs strides 1, got strides {strides!r}"
        )
    return d


def _conv_taps(x_shape, w_shape, strides, padding, dilation_rate=(1, 1)):
    """(window, taps): the dilated window's size, and for each kernel tap (i, j) the index of the
    padded input cells it sees for every output cell (batch, rows, columns)."""
    (sh, sw), (dh, dw) = _pair(strides), _dilation(dilation_rate, strides)
    kh, kw = w_shape[:2]
    window = ((kh - 1) * dh + 1, (kw - 1) * dw + 1)
    ho, wo, _, _ = _geometry(x_shape, window, strides, padding, "w")
    taps = {
        (i, j): (
            slice(None),
            slice(i * dh, i * dh + (ho - 1) * sh + 1, sh),
            slice(j * dw, j * dw + (wo - 1) * sw + 1, sw),
        )
        for i in range(kh)
        for j in range(kw)
    }
    return window, taps


def conv2d(x, w, b=None, strides=(1, 1), padding="valid", dilation_rate=(1, 1)):
    x, w = _float(x), _float(w)
    window, taps = _conv_taps(x.shape, w.shape, strides, padding, dilation_rate)
    ho, wo, _, _ = _geometry(x.shape, window, strides, padding)
    xp = _padded(x, window, strides, padding)
    y = np.zeros((x.shape[0], ho, wo, w.shape[3]), np.result_type(x, w))
    for (i, j), tap in taps.items():
        y += xp[tap] @ w[i, j]  # the input cells tap (i, j) sees, (N, ho, wo, C), times its filter
    return y if b is None else y + _float(b)


def _conv2d_backward_data(dy, x_shape, w, strides, padding, dilation_rate=(1, 1)):
    """conv2d's input gradient for an input of x_shape."""
    window, taps = _conv_taps(x_shape, w.shape, strides, padding, dilation_rate)
    (top, bottom), (left, right) = _pads(x_shape, window, strides, padding)
    n, h, wd, c = x_shape
    dxp = np.zeros((n, top + h + bottom, left + wd + right, c), np.result_type(dy, w))
    for (i, j), tap in taps.items():
        dxp[tap] += dy @ w[i, j].T
    return dxp[:, top : top + x_shape[1], left : left + x_shape[2], :]


def conv2d_backward(dy, x, w, strides=(1, 1), padding="valid", need_dx=True, dilation_rate=(1, 1)):
    dy, x, w = _float(dy), _float(x), _float(w)
    window, taps = _conv_taps(x.shape, w.shape, strides, padding, dilation_rate)
    xp = _padded(x, window, strides, padding)
    dw = np.zeros(w.shape, np.result_type(dy, x))
    for (i, j), tap in taps.items():
        dw[i, j] = np.tensordot(xp[tap], dy, axes=([0, 1, 2], [0, 1, 2]))
    dx = _conv2d_backward_data(dy, x.shape, w, strides, padding, dilation_rate) if need_dx else None
    return dx, dw, dy.sum(axis=(0, 1, 2))


def _transposed(x_shape, w_shape, strides, padding, output_padding):
    """The output shape of conv2d_transpose (Keras's size rule), checked to be an input of the
    convolution that gives back x_shape."""
    if w_shape[3] != x_shape[3]:
        raise ValueError(
            f"w: expected {x_shape[3]} input channels (axis 3) to match x {tuple(x_shape)}, got "
            f"shape {tuple(w_shape)}"
        )
    strides, padding = _pair(strides), padding.lower()
    ops_ = (None, None) if output_padding is None else _pair(output_padding)
    if output_padding is not None and any(p < 0 or p >= s for p, s in zip(ops_, strides)):
        raise ValueError(f"output_padding: {output_padding!r} must be in [0, strides {strides})")
    size = [transpose_size(*a, padding) for a in zip(x_shape[1:3], w_shape[:2], strides, ops_)]
    y_shape = (x_shape[0], *size, w_shape[2])
    if min(size) < 0 or _geometry(y_shape, w_shape[:2], strides, padding)[:2] != x_shape[1:3]:
        raise ValueError(
            f"output_padding: {output_padding!r} gives an output of {tuple(size)} rows and "
            f"columns for x {tuple(x_shape)}, whose convolution does not give x back"
        )
    return y_shape


def conv2d_transpose(x, w, b=None, strides=(1, 1), padding="valid", output_padding=None):
    x, w = _float(x), _float(w)
    y_shape = _transposed(x.shape, w.shape, strides, padding, output_padding)
    y = _conv2d_backward_data(x, y_shape, w, strides, padding)
    return y if b is None else y + _float(b)


def conv2d_transpose_backward(
    dy, x, w, strides=(1, 1), padding="valid", output_padding=None, need_dx=True
):
    dy, x, w = _float(dy), _float(x), _float(w)
    y_shape = _transposed(x.shape, w.shape, strides, padding, output_padding)
    if dy.shape != y_shape:
        raise ValueError(f"dy: expected shape {y_shape}, got shape {dy.shape}")
    dx = conv2d(dy, w, None, strides, padding) if need_dx else None
    _, dw, _ = conv2d_backward(x, dy, w, strides, padding, need_dx=False)
    return dx, dw, dy.sum(axis=(0, 1, 2))


def depthwise_conv2d(x, w, b=None, strides=(1, 1), padding="valid", dilation_rate=(1, 1)):
    x, w = _float(x), _float(w)
    window, taps = _conv_taps(x.shape, w.shape, strides, padding, dilation_rate)
    ho, wo, _, _ = _geometry(x.shape, window, strides, padding)
    xp = _padded(x, window, strides, padding)
    n, (_, _, c, m) = x.shape[0], w.shape
    y = np.zeros((n, ho, wo, c, m), np.result_type(x, w))
    for (i, j), tap in taps.items():
        y += xp[tap][..., None] * w[i, j]  # channel c times its m filters' tap (i, j)
    y = y.reshape(n, ho, wo, c * m)
    return y if b is None else y + _float(b)


def depthwise_conv2d_backward(
    dy, x, w, strides=(1, 1), padding="valid", need_dx=True, dilation_rate=(1, 1)
):
    dy, x, w = _float(dy), _float(x), _float(w)
    window, taps = _conv_taps(x.shape, w.shape, strides, padding, dilation_rate)
    _, _, top, left = _geometry(x.shape, window, strides, padding)
    xp = _padded(x, window, strides, padding)
    dy5 = dy.reshape(*dy.shape[:3], *w.shape[2:])
    dxp = np.zeros(xp.shape, np.result_type(dy, w))
    dw = np.zeros(w.shape, np.result_type(dy, x))
    for (i, j), tap in taps.items():
        dw[i, j] = np.einsum("nhwc,nhwcm->cm", xp[tap], dy5)
        dxp[tap] += np.einsum("nhwcm,cm->nhwc", dy5, w[i, j])
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
    # As the native binding (and Keras): a recurrent layer needs units and input features.
    if units < 1:
        raise ValueError(
            f"recurrent_kernel: expected (units, gates * units) with units >= 1, "
            f"got shape {recurrent_kernel.shape}"
        )
    if x.shape[2] < 1:
        raise ValueError(f"x: expected at least one feature, got shape {x.shape}")
    h = np.zeros((x.shape[0], units), x.dtype) if h0 is None else _float(h0)
    return x, kernel, recurrent_kernel, units, h


def _keep(mask, t, like):
    """Step t's mask as an (N, 1) column of 0/1 in like's dtype: 0 where the step is skipped
    (every state keeps its previous value; see ops.lstm)."""
    if mask is None:
        return np.ones((like.shape[0], 1), like.dtype)
    return (np.asarray(mask)[:, t, None] != 0).astype(like.dtype)


# The recurrent cells' activations by Keras name: (f, f' from the output y = f(x)).
_RNN_ACTIVATIONS = {
    "tanh": (np.tanh, lambda y: 1 - y**2),
    "sigmoid": (_sigmoid, lambda y: y * (1 - y)),
    "relu": (lambda x: np.maximum(x, 0), lambda y: (y > 0).astype(y.dtype)),
    "hard_sigmoid": (
        lambda x: np.clip(x + 3, 0, 6) / 6,  # Keras 3: relu6(x + 3) / 6
        lambda y: ((y > 0) & (y < 1)).astype(y.dtype) / 6,
    ),
    "linear": (lambda x: x, np.ones_like),
}


def _rnn_activation(name, argument):
    """(f, slope) of a cell activation named by `argument`, as the native binding checks it."""
    accepted = ", ".join(repr(a) for a in _RNN_ACTIVATIONS)
    if not isinstance(name, str):
        raise TypeError(
            f"{argument}: expected a str (one of {accepted}), got {type(name).__name__}"
        )
    if name not in _RNN_ACTIVATIONS:
        raise ValueError(f"{argument}: expected one of {accepted}, got {name!r}")
    return _RNN_ACTIVATIONS[name]


def lstm(
    x,
    kernel,
    recurrent_kernel,
    bias,
    h0=None,
    c0=None,
    mask=None,
    activation="tanh",
    recurrent_activation="sigmoid",
):
    act, _ = _rnn_activation(activation, "activation")
    rec, _ = _rnn_activation(recurrent_activation, "recurrent_activation")
    x, kernel, recurrent_kernel, units, h = _rnn_start(x, kernel, recurrent_kernel, h0)
    c = np.zeros_like(h) if c0 is None else _float(c0)
    xw = x @ kernel + (0 if bias is None else _float(bias))
    hs = np.zeros(x.shape[:2] + (units,), h.dtype)
    steps = []
    for t in range(x.shape[1]):
        z = xw[:, t] + h @ recurrent_kernel
        i, f, g, o = np.split(z, 4, axis=1)
        i, f, g, o = rec(i), rec(f), act(g), rec(o)
        steps.append((h, c, i, f, g, o))
        keep = _keep(mask, t, h)
        c_new = f * c + i * g
        h = keep * (o * act(c_new)) + (1 - keep) * h
        c = keep * c_new + (1 - keep) * c
        hs[:, t] = h
    return hs, h, c, steps


def lstm_backward(
    dhs,
    dh_T,
    dc_T,
    x,
    kernel,
    recurrent_kernel,
    cache,
    h0=None,
    c0=None,
    mask=None,
    activation="tanh",
    recurrent_activation="sigmoid",
):
    act, dact = _rnn_activation(activation, "activation")
    _, drec = _rnn_activation(recurrent_activation, "recurrent_activation")
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
        tc = act(f * c_prev + i * g)
        dh = dh + dhs[:, t]
        dc_step = dc + dh * o * dact(tc)
        dz = keep * np.concatenate(
            [
                dc_step * g * drec(i),
                dc_step * c_prev * drec(f),
                dc_step * i * dact(g),
                dh * tc * drec(o),
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


def gru(
    x,
    kernel,
    recurrent_kernel,
    bias,
    h0=None,
    mask=None,
    reset_after=True,
    activation="tanh",
    recurrent_activation="sigmoid",
):
    act, _ = _rnn_activation(activation, "activation")
    rec, _ = _rnn_activation(recurrent_activation, "recurrent_activation")
    x, kernel, recurrent_kernel, units, h = _rnn_start(x, kernel, recurrent_kernel, h0)
    bias_shape = (2, 3 * units) if reset_after else (3 * units,)
    bias = np.zeros(bias_shape, h.dtype) if bias is None else _float(bias)
    xw = x @ kernel + (bias[0] if reset_after else bias)
    hs = np.zeros(x.shape[:2] + (units,), h.dtype)
    steps = []
    for t in range(x.shape[1]):
        xz, xr, xh = np.split(xw[:, t], 3, axis=1)
        if reset_after:  # r scales the recurrent candidate term
            rz, rr, rh = np.split(h @ recurrent_kernel + bias[1], 3, axis=1)
            z, r = rec(xz + rz), rec(xr + rr)
            hh = act(xh + r * rh)
        else:  # r scales h before the candidate's recurrent product
            rz, rr = np.split(h @ recurrent_kernel[:, : 2 * units], 2, axis=1)
            z, r = rec(xz + rz), rec(xr + rr)
            rh = (r * h) @ recurrent_kernel[:, 2 * units :]
            hh = act(xh + rh)
        steps.append((h, z, r, hh, rh))
        keep = _keep(mask, t, h)
        h = keep * (z * h + (1 - z) * hh) + (1 - keep) * h
        hs[:, t] = h
    return hs, h, steps


def gru_backward(
    dhs,
    dh_T,
    x,
    kernel,
    recurrent_kernel,
    cache,
    h0=None,
    mask=None,
    reset_after=True,
    activation="tanh",
    recurrent_activation="sigmoid",
):
    _, dact = _rnn_activation(activation, "activation")
    _, drec = _rnn_activation(recurrent_activation, "recurrent_activation")
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
    dbias = np.zeros((2, 3 * units) if reset_after else 3 * units, dhs.dtype)
    u_zr, u_h = recurrent_kernel[:, : 2 * units], recurrent_kernel[:, 2 * units :]
    for t in reversed(range(x.shape[1])):
        h_prev, z, r, hh, rh = cache[t]
        keep = _keep(mask, t, dh)
        dh = dh + dhs[:, t]
        dz = keep * dh * (h_prev - hh) * drec(z)
        dhh = keep * dh * (1 - z) * dact(hh)
        if reset_after:
            dr = dhh * rh * drec(r)
            dx_gates = np.concatenate([dz, dr, dhh], axis=1)  # w.r.t. x @ kernel + bias[0]
            drec_gates = np.concatenate([dz, dr, dhh * r], axis=1)  # w.r.t. h @ U + bias[1]
            drecurrent += h_prev.T @ drec_gates
            dbias[0] += dx_gates.sum(axis=0)
            dbias[1] += drec_gates.sum(axis=0)
            dh_rec = drec_gates @ recurrent_kernel.T
        else:
            drh_in = dhh @ u_h.T  # w.r.t. r * h_prev, the candidate's recurrent operand
            dr = drh_in * h_prev * drec(r)
            dx_gates = np.concatenate([dz, dr, dhh], axis=1)
            drecurrent[:, : 2 * units] += h_prev.T @ dx_gates[:, : 2 * units]
            drecurrent[:, 2 * units :] += (r * h_prev).T @ dhh
            dbias += dx_gates.sum(axis=0)
            dh_rec = dx_gates[:, : 2 * units] @ u_zr.T + drh_in * r
        dkernel += x[:, t].T @ dx_gates
        dx[:, t] = dx_gates @ kernel.T
        dh = dh * (keep * z + 1 - keep) + dh_rec
    return dx, dkernel, drecurrent, dbias, dh


def simple_rnn(x, kernel, recurrent_kernel, bias, h0=None, mask=None, activation="tanh"):
    act, _ = _rnn_activation(activation, "activation")
    x, kernel, recurrent_kernel, units, h = _rnn_start(x, kernel, recurrent_kernel, h0)
    xw = x @ kernel + (0 if bias is None else _float(bias))
    hs = np.zeros(x.shape[:2] + (units,), h.dtype)
    steps, acts = [], np.zeros_like(hs)
    for t in range(x.shape[1]):
        steps.append(h)
        acts[:, t] = act(xw[:, t] + h @ recurrent_kernel)
        keep = _keep(mask, t, h)
        h = keep * acts[:, t] + (1 - keep) * h
        hs[:, t] = h
    return hs, h, (steps, acts)


def simple_rnn_backward(
    dhs, dh_T, x, kernel, recurrent_kernel, cache, h0=None, mask=None, activation="tanh"
):
    _, dact = _rnn_activation(activation, "activation")
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
        dz = keep * dh * dact(acts[:, t])
        dkernel += x[:, t].T @ dz
        drecurrent += h_prevs[t].T @ dz
        dbias += dz.sum(axis=0)
        dx[:, t] = dz @ kernel.T
        dh = dz @ recurrent_kernel.T + (1 - keep) * dh
    return dx, dkernel, drecurrent, dbias, dh


# --- embedding, dropout --------------------------------------------------------------------------


def _ids(ids, vocab_size):
    ids = np.asarray(ids, dtype=np.int64)
    bad = ids[(ids < 0) | (ids >= vocab_size)]
    if bad.size:
        raise ValueError(f"ids: value {bad[0]} out of range [0, {vocab_size})")
    return ids


def embedding(ids, table):
    table = _float(table)
    return table[_ids(ids, table.shape[0])]


def embedding_backward(dy, ids, vocab_size):
    dy = _float(dy)
    ids = _ids(ids, vocab_size)
    dtable = np.zeros((vocab_size, dy.shape[-1]), dy.dtype)
    # np.add.at accumulates repeated ids (plain fancy-index += would keep only the last one).
    np.add.at(dtable, ids.reshape(-1), dy.reshape(ids.size, dy.shape[-1]))
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


def _logits(logits):
    logits = _float(logits)
    if logits.ndim != 2 or logits.shape[1] < 1:  # log-sum-exp of no classes is undefined
        raise ValueError(f"logits: expected (N, C) with C >= 1, got shape {logits.shape}")
    return logits


def _log_softmax(logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def sparse_softmax_cross_entropy(logits, labels):
    logits = _logits(logits)
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
    logits, t = _logits(logits), _float(onehot)
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


# --- elementwise activations, global pooling -----------------------------------------------------

_erf = np.frompyfunc(math.erf, 1, 1)


def _erf_array(x):
    return _erf(x).astype(x.dtype)


def activation(x, name, alpha=None):
    alpha = _pointwise.check(name, alpha)
    x = _float(x)
    with np.errstate(over="ignore"):  # exponential overflows to inf, as the kernels do
        return _pointwise.forward(np, _erf_array, name, x, alpha).astype(x.dtype)


def activation_backward(dy, x, y, name, alpha=None):
    alpha = _pointwise.check(name, alpha)
    dy, x, y = _float(dy), _float(x), _float(y)
    return (dy * _pointwise.derivative(np, _erf_array, name, x, y, alpha)).astype(dy.dtype)


def global_avg_pool(x):
    x = _float(x)
    with np.errstate(invalid="ignore"):  # no steps: 0 / 0 = NaN, as TF's reduce_mean
        return x.sum(axis=1) / x.dtype.type(x.shape[1])


def global_avg_pool_backward(dy, x_shape):
    dy = _float(dy)
    n, steps, c = x_shape
    with np.errstate(divide="ignore", invalid="ignore"):  # no steps: nothing to spread over
        g = dy / dy.dtype.type(steps)
    return np.broadcast_to(g[:, None, :], (n, steps, c)).copy()


def global_max_pool(x):
    return np.max(_float(x), axis=1, initial=-np.inf)


def global_max_pool_backward(dy, x, y):
    dy, x, y = _float(dy), _float(x), _float(y)
    hit = x == y[:, None, :]
    count = np.maximum(hit.sum(axis=1), 1).astype(dy.dtype)
    return np.where(hit, (dy / count)[:, None, :], dy.dtype.type(0))


# --- normalization -------------------------------------------------------------------------------


def _channel_view(x, axis):
    """x as (outer, channels, inner) around axis."""
    axis = axis + x.ndim if axis < 0 else axis
    return x.reshape(math.prod(x.shape[:axis]), x.shape[axis], math.prod(x.shape[axis + 1 :]))


def _per_channel(v, like):
    return None if v is None else _float(v).astype(like.dtype, copy=False)[None, :, None]


def _batch_moments(x3):
    """Biased mean and variance of each channel of an (outer, channels, inner) view, by two
    passes in float64 (NaN for channels without values, as Keras's moments)."""
    x64 = x3.astype(np.float64)
    count = x3.shape[0] * x3.shape[2]
    if count == 0:
        nan = np.full(x3.shape[1], np.nan)
        return nan, nan
    mean = x64.sum(axis=(0, 2)) / count
    var = ((x64 - mean[None, :, None]) ** 2).sum(axis=(0, 2)) / count
    return mean, var


def _normalized(x3, mean, var, gamma, beta, epsilon):
    a = 1 / np.sqrt(var + epsilon)
    if gamma is not None:
        a = a * gamma[0, :, 0]
    y = (x3 - mean[None, :, None]) * a[None, :, None]
    return y if beta is None else y + beta


def batch_norm(x, mean, variance, gamma=None, beta=None, epsilon=1e-3, axis=-1):
    x = _float(x)
    x3 = _channel_view(x, axis)
    mean, variance = _float(mean).astype(x.dtype), _float(variance).astype(x.dtype)
    y = _normalized(
        x3, mean, variance, _per_channel(gamma, x), _per_channel(beta, x), x.dtype.type(epsilon)
    )
    return y.astype(x.dtype).reshape(x.shape)


def batch_norm_training(x, gamma=None, beta=None, epsilon=1e-3, axis=-1):
    x = _float(x)
    x3 = _channel_view(x, axis)
    mean, var = _batch_moments(x3)
    y = _normalized(x3, mean, var, _per_channel(gamma, x), _per_channel(beta, x), epsilon)
    return y.astype(x.dtype).reshape(x.shape), mean.astype(x.dtype), var.astype(x.dtype)


def batch_norm_backward(dy, x, gamma, mean, variance, epsilon=1e-3, axis=-1):
    dy, x = _float(dy), _float(x)
    x3, g3 = _channel_view(x, axis), _channel_view(dy, axis)
    count = max(x3.shape[0] * x3.shape[2], 1)
    istd = 1 / np.sqrt(_float(variance).astype(x.dtype) + x.dtype.type(epsilon))
    xhat = (x3 - _float(mean).astype(x.dtype)[None, :, None]) * istd[None, :, None]
    dbeta = g3.sum(axis=(0, 2))
    dgamma = (g3 * xhat).sum(axis=(0, 2))
    a = istd if gamma is None else istd * _float(gamma).astype(x.dtype)
    dx = a[None, :, None] * (
        g3 - (dbeta / count)[None, :, None] - xhat * (dgamma / count)[None, :, None]
    )
    return dx.reshape(x.shape), dgamma, dbeta


def layer_norm(x, gamma=None, beta=None, epsilon=1e-3):
    x = _float(x)
    if x.shape[-1] == 0:
        nan = np.full(x.shape[:-1], np.nan, x.dtype)
        return x.copy(), nan, nan
    x64 = x.astype(np.float64)
    mean = x64.mean(axis=-1, keepdims=True)
    var = ((x64 - mean) ** 2).mean(axis=-1, keepdims=True)
    rstd = 1 / np.sqrt(var + epsilon)
    y = (x64 - mean) * rstd
    if gamma is not None:
        y = y * _float(gamma)
    if beta is not None:
        y = y + _float(beta)
    return y.astype(x.dtype), mean[..., 0].astype(x.dtype), rstd[..., 0].astype(x.dtype)


def layer_norm_backward(dy, x, gamma, mean, rstd):
    dy, x = _float(dy), _float(x)
    if x.shape[-1] == 0:
        return np.zeros_like(x), np.zeros(0, x.dtype), np.zeros(0, x.dtype)
    mean, rstd = _float(mean)[..., None], _float(rstd)[..., None]
    xhat = (x - mean) * rstd
    g = dy if gamma is None else dy * _float(gamma)
    dx = rstd * (
        g - g.mean(axis=-1, keepdims=True) - xhat * (g * xhat).mean(axis=-1, keepdims=True)
    )
    lead = tuple(range(x.ndim - 1))
    return dx.astype(x.dtype), (dy * xhat).sum(axis=lead), dy.sum(axis=lead)


# --- regression losses on the hot path -------------------------------------------------------


def mean_absolute_error(pred, targets):
    p, t = _float(pred), _float(targets)
    d = p - t
    return _mean(np.abs(d)), np.sign(d) / max(p.size, 1)


def huber(pred, targets, delta=1.0):
    if not (delta > 0 and math.isfinite(delta)):
        raise ValueError(f"delta: expected a positive finite number, got {delta!r}")
    p, t = _float(pred), _float(targets)
    d = p - t
    inside = np.abs(d) <= delta
    loss = np.where(inside, 0.5 * d * d, delta * np.abs(d) - 0.5 * delta * delta)
    grad = np.where(inside, d, delta * np.sign(d))
    return _mean(loss), grad / max(p.size, 1)


# The Keras 3 optimizers beyond SGD, Adam and RMSprop, and the weight decay and moving average
# any optimizer may apply. Each ``_<name>(xp, ...)`` is written with operators and a few array
# functions only, so the CUDA backend runs the same lines on CuPy arrays; the scalars are rounded
# once to the weights' dtype, as the native kernels round them to float32. grad_sq / grad_abs: as
# in adam_update (None: grad ** 2 / |grad|).


def _given(grad, given, xp, fn):
    return fn(grad) if given is None else xp.asarray(given, dtype=grad.dtype)


def _weight_decay(xp, param, learning_rate, weight_decay):
    c = param.dtype.type
    param -= param * c(weight_decay) * c(learning_rate)


def _ema(xp, average, param, momentum):
    c = average.dtype.type
    mu = c(momentum)
    average[...] = mu * average + (c(1) - mu) * param


def _nadam(xp, param, grad, m, v, step, u_product, learning_rate, beta_1, beta_2, epsilon, grad_sq):
    c = param.dtype.type
    t = float(step)
    u_t = beta_1 * (1.0 - 0.5 * 0.96**t)
    u_next = beta_1 * (1.0 - 0.5 * 0.96 ** (t + 1.0))
    m += (grad - m) * c(1.0 - beta_1)
    v += (_given(grad, grad_sq, xp, xp.square) - v) * c(1.0 - beta_2)
    m_hat = c(u_next) * m / c(1.0 - u_product * u_next) + c(1.0 - u_t) * grad / c(1.0 - u_product)
    param -= m_hat * c(learning_rate) / (xp.sqrt(v / c(1.0 - beta_2**t)) + c(epsilon))


def _adamax(xp, param, grad, m, u, step, learning_rate, beta_1, beta_2, epsilon, grad_abs):
    c = param.dtype.type
    m += (grad - m) * c(1.0 - beta_1)
    u[...] = xp.maximum(c(beta_2) * u, _given(grad, grad_abs, xp, xp.abs))
    param -= c(learning_rate) * m / (c(1.0 - beta_1 ** float(step)) * (u + c(epsilon)))


def _adagrad(xp, param, grad, accumulator, learning_rate, epsilon, grad_sq):
    c = param.dtype.type
    accumulator += _given(grad, grad_sq, xp, xp.square)
    param -= c(learning_rate) * grad / xp.sqrt(accumulator + c(epsilon))


def _adadelta(xp, param, grad, acc_grad, acc_delta, learning_rate, rho, epsilon, grad_sq):
    c = param.dtype.type
    r, one_minus_r, eps = c(rho), c(1.0 - rho), c(epsilon)
    acc_grad[...] = r * acc_grad + one_minus_r * _given(grad, grad_sq, xp, xp.square)
    rms_delta = xp.sqrt(acc_delta + eps)
    rms_grad = xp.sqrt(acc_grad + eps)
    delta = -(rms_delta * grad / rms_grad)
    # Each lookup's delta squared, then summed (TensorFlow's sparse gradients).
    delta_sq = (
        delta * delta
        if grad_sq is None
        else rms_delta * rms_delta * xp.asarray(grad_sq, dtype=grad.dtype) / (rms_grad * rms_grad)
    )
    acc_delta[...] = r * acc_delta + one_minus_r * delta_sq
    param += c(learning_rate) * delta


def _lion(xp, param, grad, m, learning_rate, beta_1, beta_2):
    c = param.dtype.type
    b1, b2 = c(beta_1), c(beta_2)
    param -= c(learning_rate) * xp.sign(m * b1 + grad * (c(1) - b1))
    m[...] = m * b2 + grad * (c(1) - b2)


def _ftrl(
    xp, param, grad, accumulator, linear, learning_rate, power, l1, l2, shrinkage, beta, grad_sq
):
    c = param.dtype.type
    lr = c(learning_rate)

    def pow_(x):  # in float64, rounded once (as the kernel: float pow differs between libraries)
        return xp.power(x.astype(np.float64), -power).astype(x.dtype)

    new_acc = accumulator + _given(grad, grad_sq, xp, xp.square)
    new_pow = pow_(new_acc)
    linear += (grad + c(2.0 * shrinkage) * param) - (new_pow - pow_(accumulator)) / lr * param
    quadratic = new_pow / lr + c(2.0 * (l2 + beta / (2.0 * learning_rate)))
    param[...] = (xp.minimum(xp.maximum(linear, -c(l1)), c(l1)) - linear) / quadratic
    accumulator[...] = new_acc


def weight_decay_update(param, learning_rate, weight_decay):
    _weight_decay(np, param, learning_rate, weight_decay)


def ema_update(average, param, momentum):
    _ema(np, average, np.asarray(param, dtype=average.dtype), momentum)


def nadam_update(
    param,
    grad,
    m,
    v,
    step,
    u_product,
    learning_rate=0.001,
    beta_1=0.9,
    beta_2=0.999,
    epsilon=1e-7,
    grad_sq=None,
):
    grad = np.asarray(grad, dtype=param.dtype)
    _nadam(np, param, grad, m, v, step, u_product, learning_rate, beta_1, beta_2, epsilon, grad_sq)


def adamax_update(
    param,
    grad,
    m,
    u,
    step,
    learning_rate=0.001,
    beta_1=0.9,
    beta_2=0.999,
    epsilon=1e-7,
    grad_abs=None,
):
    grad = np.asarray(grad, dtype=param.dtype)
    _adamax(np, param, grad, m, u, step, learning_rate, beta_1, beta_2, epsilon, grad_abs)


def adagrad_update(param, grad, accumulator, learning_rate=0.001, epsilon=1e-7, grad_sq=None):
    grad = np.asarray(grad, dtype=param.dtype)
    _adagrad(np, param, grad, accumulator, learning_rate, epsilon, grad_sq)


def adadelta_update(
    param, grad, acc_grad, acc_delta, learning_rate=0.001, rho=0.95, epsilon=1e-7, grad_sq=None
):
    grad = np.asarray(grad, dtype=param.dtype)
    _adadelta(np, param, grad, acc_grad, acc_delta, learning_rate, rho, epsilon, grad_sq)


def lion_update(param, grad, m, learning_rate=0.001, beta_1=0.9, beta_2=0.99):
    _lion(np, param, np.asarray(grad, dtype=param.dtype), m, learning_rate, beta_1, beta_2)


def ftrl_update(
    param,
    grad,
    accumulator,
    linear,
    learning_rate=0.001,
    learning_rate_power=-0.5,
    l1_regularization_strength=0.0,
    l2_regularization_strength=0.0,
    l2_shrinkage_regularization_strength=0.0,
    beta=0.0,
    grad_sq=None,
):
    _ftrl(
        np,
        param,
        np.asarray(grad, dtype=param.dtype),
        accumulator,
        linear,
        learning_rate,
        learning_rate_power,
        l1_regularization_strength,
        l2_regularization_strength,
        l2_shrinkage_regularization_strength,
        beta,
        grad_sq,
    )
