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


# --- recurrent layers ----------------------------------------------------------------------------


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # no overflow warning for large |x|


def _rnn_start(x, kernel, recurrent_kernel, h0):
    """Float views of the common arguments, the units U and the initial state (zeros for None)."""
    x, kernel, recurrent_kernel = _float(x), _float(kernel), _float(recurrent_kernel)
    units = recurrent_kernel.shape[0]
    h = np.zeros((x.shape[0], units), x.dtype) if h0 is None else _float(h0)
    return x, kernel, recurrent_kernel, units, h


def lstm(x, kernel, recurrent_kernel, bias, h0=None, c0=None):
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
        c = f * c + i * g
        h = o * np.tanh(c)
        hs[:, t] = h
    return hs, h, c, steps


def lstm_backward(dhs, dh_T, dc_T, x, kernel, recurrent_kernel, cache, h0=None, c0=None):
    dhs, x, kernel, recurrent_kernel = _float(dhs), _float(x), _float(kernel), _float(recurrent_kernel)
    n, units = dhs.shape[0], dhs.shape[2]
    dh = np.zeros((n, units), dhs.dtype) if dh_T is None else _float(dh_T)
    dc = np.zeros_like(dh) if dc_T is None else _float(dc_T)
    dx = np.zeros(x.shape, dhs.dtype)
    dkernel, drecurrent = np.zeros(kernel.shape, dhs.dtype), np.zeros(recurrent_kernel.shape, dhs.dtype)
    dbias = np.zeros(4 * units, dhs.dtype)
    for t in reversed(range(x.shape[1])):
        h_prev, c_prev, i, f, g, o = cache[t]
        tc = np.tanh(f * c_prev + i * g)
        dh = dh + dhs[:, t]
        dc = dc + dh * o * (1 - tc**2)
        dz = np.concatenate([dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dc * i * (1 - g**2),
                             dh * tc * o * (1 - o)], axis=1)
        dkernel += x[:, t].T @ dz
        drecurrent += h_prev.T @ dz
        dbias += dz.sum(axis=0)
        dx[:, t] = dz @ kernel.T
        dh = dz @ recurrent_kernel.T
        dc = dc * f
    return dx, dkernel, drecurrent, dbias, dh, dc


def gru(x, kernel, recurrent_kernel, bias, h0=None):
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
        h = z * h + (1 - z) * hh
        hs[:, t] = h
    return hs, h, steps


def gru_backward(dhs, dh_T, x, kernel, recurrent_kernel, cache, h0=None):
    dhs, x, kernel, recurrent_kernel = _float(dhs), _float(x), _float(kernel), _float(recurrent_kernel)
    n, units = dhs.shape[0], dhs.shape[2]
    dh = np.zeros((n, units), dhs.dtype) if dh_T is None else _float(dh_T)
    dx = np.zeros(x.shape, dhs.dtype)
    dkernel, drecurrent = np.zeros(kernel.shape, dhs.dtype), np.zeros(recurrent_kernel.shape, dhs.dtype)
    dbias = np.zeros((2, 3 * units), dhs.dtype)
    for t in reversed(range(x.shape[1])):
        h_prev, z, r, hh, rh = cache[t]
        dh = dh + dhs[:, t]
        dz = dh * (h_prev - hh) * z * (1 - z)
        dhh = dh * (1 - z) * (1 - hh**2)
        dr = dhh * rh * r * (1 - r)
        dx_gates = np.concatenate([dz, dr, dhh], axis=1)  # w.r.t. x @ kernel + bias[0]
        drec_gates = np.concatenate([dz, dr, dhh * r], axis=1)  # w.r.t. h @ recurrent + bias[1]
        dkernel += x[:, t].T @ dx_gates
        drecurrent += h_prev.T @ drec_gates
        dbias[0] += dx_gates.sum(axis=0)
        dbias[1] += drec_gates.sum(axis=0)
        dx[:, t] = dx_gates @ kernel.T
        dh = dh * z + drec_gates @ recurrent_kernel.T
    return dx, dkernel, drecurrent, dbias, dh


def simple_rnn(x, kernel, recurrent_kernel, bias, h0=None):
    x, kernel, recurrent_kernel, units, h = _rnn_start(x, kernel, recurrent_kernel, h0)
    xw = x @ kernel + (0 if bias is None else _float(bias))
    hs = np.zeros(x.shape[:2] + (units,), h.dtype)
    steps = []
    for t in range(x.shape[1]):
        steps.append(h)
        h = np.tanh(xw[:, t] + h @ recurrent_kernel)
        hs[:, t] = h
    return hs, h, (steps, hs)


def simple_rnn_backward(dhs, dh_T, x, kernel, recurrent_kernel, cache, h0=None):
    dhs, x, kernel, recurrent_kernel = _float(dhs), _float(x), _float(kernel), _float(recurrent_kernel)
    h_prevs, hs = cache
    dh = np.zeros((dhs.shape[0], dhs.shape[2]), dhs.dtype) if dh_T is None else _float(dh_T)
    dx = np.zeros(x.shape, dhs.dtype)
    dkernel, drecurrent = np.zeros(kernel.shape, dhs.dtype), np.zeros(recurrent_kernel.shape, dhs.dtype)
    dbias = np.zeros(dhs.shape[2], dhs.dtype)
    for t in reversed(range(x.shape[1])):
        dz = (dh + dhs[:, t]) * (1 - hs[:, t] ** 2)
        dkernel += x[:, t].T @ dz
        drecurrent += h_prevs[t].T @ dz
        dbias += dz.sum(axis=0)
        dx[:, t] = dz @ kernel.T
        dh = dz @ recurrent_kernel.T
    return dx, dkernel, drecurrent, dbias, dh



# --- embedding, dropout --------------------------------------------------------------------------


# --- losses --------------------------------------------------------------------------------------


# --- optimizers ----------------------------------------------------------------------------------
