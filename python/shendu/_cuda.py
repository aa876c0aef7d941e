"""The GPU backend: shendu.ops sends CuPy arrays here.

Same functions, signatures and return values as shendu.reference and the CPU ops (see shendu.ops
for the contract). Each function checks its arguments the way the C++ binding boundary does
(cpp/bindings/checks.cpp: the argument's name, the shapes, TypeError for the wrong kind of data,
ValueError for the wrong shape or value), converts the inputs to C-contiguous float32 on the GPU
(never through the host), allocates the outputs with CuPy and launches the kernels of
shendu._cuda_kernels on CuPy's current stream. Losses read back one scalar, and checks of label,
id and argmax values read back one small array each, except inside ``training_step()`` (see there).

Importing this module raises ImportError when the CUDA extension was not built, which is how
shendu.ops knows to go without it. CuPy is imported on first use, so a CUDA build imports (and
`python -m shendu info` runs) on a machine without CuPy or without a GPU.
"""

from __future__ import annotations

import contextlib
import math
import operator

import numpy as np

from . import _cuda_kernels as _k
from . import _pointwise, reference
from ._padding import window_axis

# Enum values of the extension (cuda/activation.h, cuda/sgemm.h, cuda/losses.h).
_ACTIVATIONS = {"linear": 0, "relu": 1, "sigmoid": 2, "tanh": 3}
SGEMM_KERNELS = ("naive", "smem", "blocktile", "warptile")
_BCE, _SIGMOID_BCE, _MSE = 0, 1, 2


def device_name() -> str:
    """The current CUDA device; RuntimeError when there is no driver or device."""
    return _k.device_name()


def cupy_wheel() -> str:
    """The CuPy wheel for this build: the module links the CUDA runtime statically, so the driver
    must support that CUDA major version, and CuPy should be built for the same one."""
    return f"cupy-cuda{_k.CUDA_RUNTIME_VERSION // 1000}x"


def cupy_version() -> str | None:
    """CuPy's version, or None when CuPy is not installed."""
    try:
        import cupy
    except ImportError:
        return None
    return cupy.__version__


def _cp():
    import cupy

    return cupy


_in_training_step = False


@contextlib.contextmanager
def training_step():
    """The Keras trainer's steps run inside this, and then wait for the GPU nowhere:

    - the loss ops return their mean as a 0-d float64 CuPy array, not a Python float (the trainer
      adds it to a running total on the GPU and reads the totals back once per epoch);
    - label values are not read back for their range check (the trainer checked its targets on
      the host, once per fit);
    - embedding_backward does not check its ids again (the forward it follows checked them);
    - max_pool2d_backward takes argmax as max_pool2d made it.

    Eager calls, outside, keep the contract of shendu.ops: a float loss and every check.
    """
    global _in_training_step
    outer, _in_training_step = _in_training_step, True
    try:
        yield
    finally:
        _in_training_step = outer


def _stream() -> int:
    return _cp().cuda.get_current_stream().ptr


# --- argument checks (the GPU twin of cpp/bindings/checks.cpp) ------------------------------------


def _on_device(x, name: str, what: str):
    cp = _cp()
    if x is None:
        raise TypeError(f"{name}: expected an array, got None")
    if not isinstance(x, cp.ndarray):
        raise TypeError(
            f"{name}: expected {what} CuPy array (the op runs on the GPU), got "
            f"{type(x).__module__}.{type(x).__qualname__}"
        )
    current = cp.cuda.Device().id
    if x.device.id != current:
        raise ValueError(
            f"{name}: array is on GPU {x.device.id}, but the current device is GPU {current}"
        )
    return x


def _numeric(x, name: str):
    x = _on_device(x, name, "a")
    if x.dtype.kind not in "fiub":
        raise TypeError(
            f"{name}: expected real numbers (float or integer data), got dtype {x.dtype}"
        )
    return x


def _float32(x, name: str, ndim: int | None = None, min_ndim: int = 0):
    """Any real CuPy array -> C-contiguous float32 (copies on the GPU only when needed)."""
    x = _numeric(x, name)
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-D array, got shape {x.shape}")
    if x.ndim < min_ndim:
        raise ValueError(f"{name}: expected at least a {min_ndim}-D array, got shape {x.shape}")
    # reshape: keeps 0-D arrays 0-D, should ascontiguousarray promote them (NumPy's does).
    return _cp().ascontiguousarray(x, dtype=_cp().float32).reshape(x.shape)


def _float32_or_none(x, name: str, ndim: int | None = None):
    return None if x is None else _float32(x, name, ndim)


def _inplace(x, name: str):
    """Optimizer state: must already be C-contiguous float32, or the update would be lost."""
    x = _on_device(x, name, "a float32")
    if x.dtype != _cp().float32:
        raise TypeError(f"{name}: expected float32 (updated in place), got dtype {x.dtype}")
    if not x.flags.c_contiguous:
        raise ValueError(f"{name}: expected a C-contiguous array (updated in place)")
    return x


def _indices(x, name: str, limit: int, checked: bool = False):
    """Ids / labels: integers (or whole-number floats) in [0, limit) -> C-contiguous int64.

    The check needs the values, so it reads back the min, the max and, for floats, whether one is
    not whole, in one copy; checked=True (values known to be valid) skips it.
    """
    cp = _cp()
    x = _numeric(x, name)
    if x.size and not checked:
        # On the original values: a cast first could wrap an out-of-range float or uint64 into
        # range.
        stats = [x.min(), x.max()]
        if x.dtype.kind == "f":
            stats.append((~cp.isfinite(x) | (x != cp.floor(x))).any())
        lo, hi, *fraction = cp.stack([v.astype(cp.float64) for v in stats]).get().tolist()
        if any(fraction):
            bad = ~cp.isfinite(x) | (x != cp.floor(x))
            raise ValueError(f"{name}: expected whole numbers, got {float(x[bad][0]):f}")
        if lo < 0 or hi >= limit:
            bad_value = int(lo) if lo < 0 else int(hi)
            raise ValueError(f"{name}: value {bad_value} out of range [0, {limit})")
    return cp.ascontiguousarray(x, dtype=cp.int64).reshape(x.shape)


def _finite_float(v, name: str) -> float:
    if isinstance(v, (str, bytes)):  # float() would parse them
        raise TypeError(f"{name}: expected a number, got {v!r}")
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise TypeError(f"{name}: expected a number, got {v!r}") from None
    if not math.isfinite(f):
        raise ValueError(f"{name}: expected a finite number")
    return f


def _bool(v, name: str) -> bool:
    """True or False (Python or NumPy): a truthy string or number is a mistake."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    raise TypeError(f"{name}: expected True or False, got {v!r}")


def _int(v, name: str, minimum: int) -> int:
    """A Python or NumPy integer (not bool) in [minimum, 2**63)."""
    if isinstance(v, bool):
        raise TypeError(f"{name}: expected an int, got {v!r}")
    try:
        i = operator.index(v)
    except TypeError:
        raise TypeError(f"{name}: expected an int, got {v!r}") from None
    if i < minimum or i >= 2**63:
        fits = " that fits in 64 bits" if i >= 2**63 else ""
        raise ValueError(f"{name}: expected an int >= {minimum}{fits}, got {v!r}")
    return i


def _require_shape(ok: bool, name: str, x, expected: str):
    if not ok:
        raise ValueError(f"{name}: expected {expected}, got shape {x.shape}")


def _same_shape(x, name: str, ref, ref_name: str):
    _require_shape(x.shape == ref.shape, name, x, f"the shape of {ref_name} {ref.shape}")


def _activation(activation, allowed) -> str:
    if not isinstance(activation, str) or activation not in allowed:
        err = ValueError if isinstance(activation, str) else TypeError
        raise err(
            f"activation: expected one of {', '.join(map(repr, allowed))}, got {activation!r}"
        )
    return activation


def _ptr(x) -> int:
    return 0 if x is None else x.data.ptr


# --- matrix products, dense layers, activations ------------------------------------------------


def _gemm(
    a,
    b,
    trans_a: bool,
    trans_b: bool,
    m: int,
    n: int,
    k: int,
    bias=None,
    activation: str = "linear",
    kernel: str = "warptile",
    out=None,
):
    """act(op(a) @ op(b) + bias) into out or a new (m, n) array; all C-contiguous float32."""
    c = _cp().empty((m, n), dtype=_cp().float32) if out is None else out
    _k.sgemm(
        SGEMM_KERNELS.index(kernel),
        trans_a,
        trans_b,
        m,
        n,
        k,
        _ptr(a),
        a.shape[1],
        _ptr(b),
        b.shape[1],
        _ptr(c),
        n,
        _ptr(bias),
        _ACTIVATIONS[activation],
        _stream(),
    )
    return c


def matmul_with(kernel: str, a, b, trans_a=False, trans_b=False):
    """matmul on one step of the SGEMM ladder (SGEMM_KERNELS), for tests and benchmarks."""
    if kernel not in SGEMM_KERNELS:
        raise ValueError(f"kernel: expected one of {SGEMM_KERNELS}, got {kernel!r}")
    trans_a, trans_b = bool(trans_a), bool(trans_b)
    a = _float32(a, "a", 2)
    b = _float32(b, "b", 2)
    m, k = (a.shape[1], a.shape[0]) if trans_a else a.shape
    kb, n = (b.shape[1], b.shape[0]) if trans_b else b.shape
    if k != kb:
        raise ValueError(
            f"matmul: inner dimensions differ: a {a.shape} (trans_a={trans_a}) and "
            f"b {b.shape} (trans_b={trans_b})"
        )
    return _gemm(a, b, trans_a, trans_b, m, n, k, kernel=kernel)


def matmul(a, b, trans_a=False, trans_b=False):
    return matmul_with("warptile", a, b, trans_a, trans_b)


_DENSE_ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh", "softmax")


def _softmax_rows(x, y):
    cols = x.shape[-1]
    _k.softmax_forward(_ptr(x), _ptr(y), x.size // cols if cols else 0, cols, _stream())


def _softmax_backward_rows(dy, y, dx):
    cols = y.shape[-1]
    _k.softmax_backward(_ptr(dy), _ptr(y), _ptr(dx), y.size // cols if cols else 0, cols, _stream())


def dense(x, w, b=None, activation="linear"):
    activation = _activation(activation, _DENSE_ACTIVATIONS)
    x = _float32(x, "x", 2)
    w = _float32(w, "w", 2)
    _require_shape(w.shape[0] == x.shape[1], "w", w, f"({x.shape[1]}, units) for x {x.shape}")
    b = _float32_or_none(b, "b", 1)
    if b is not None:
        _require_shape(b.shape[0] == w.shape[1], "b", b, f"({w.shape[1]},) for w {w.shape}")
    fused = "linear" if activation == "softmax" else activation
    y = _gemm(x, w, False, False, x.shape[0], w.shape[1], x.shape[1], b, fused)
    if activation == "softmax":
        _softmax_rows(y, y)  # in place: each row is read before it is written
    return y


def dense_backward(dy, x, w, y, activation="linear", need_dx=True):
    activation = _activation(activation, _DENSE_ACTIVATIONS)
    need_dx = _bool(need_dx, "need_dx")
    dy = _float32(dy, "dy", 2)
    x = _float32(x, "x", 2)
    w = _float32(w, "w", 2)
    y = _float32(y, "y", 2)
    n, units = dy.shape
    _require_shape(x.shape[0] == n, "x", x, f"({n}, in) for dy {dy.shape}")
    _require_shape(w.shape == (x.shape[1], units), "w", w, f"{(x.shape[1], units)}")
    _same_shape(y, "y", dy, "dy")
    if activation == "linear":
        dz = dy
    else:
        dz = _cp().empty_like(dy)
        if activation == "softmax":
            _softmax_backward_rows(dy, y, dz)
        else:
            _k.activation_backward(
                _ACTIVATIONS[activation], _ptr(dy), _ptr(y), _ptr(dz), dz.size, _stream()
            )
    dx = _gemm(dz, w, False, True, n, x.shape[1], units) if need_dx else None
    dw = _gemm(x, dz, True, False, x.shape[1], units, n)
    return dx, dw, _bias_grad(dz, units)


def _scratch(size: int, dtype):
    """The partial sums of a two-pass reduction (cuda/reduce.h), or None when it needs none."""
    return _cp().empty(size, dtype=dtype) if size else None


def _bias_grad(d, units: int):
    """d (..., units) summed over all but the last axis: the bias gradient."""
    rows = d.size // units if units else 0
    db = _cp().empty(units, dtype=_cp().float32)
    scratch = _scratch(_k.column_sum_scratch(rows, units), _cp().float32)
    _k.column_sum(_ptr(d), rows, units, _ptr(db), _ptr(scratch), _stream())
    return db


def _activation_forward(x, activation: str):
    x = _float32(x, "x")
    y = _cp().empty_like(x)
    _k.activation_forward(_ACTIVATIONS[activation], _ptr(x), _ptr(y), x.size, _stream())
    return y


def _activation_backward(dy, y, activation: str):
    dy = _float32(dy, "dy")
    y = _float32(y, "y")
    _same_shape(y, "y", dy, "dy")
    dx = _cp().empty_like(dy)
    _k.activation_backward(
        _ACTIVATIONS[activation], _ptr(dy), _ptr(y), _ptr(dx), dx.size, _stream()
    )
    return dx


def relu(x):
    return _activation_forward(x, "relu")


def relu_backward(dy, y):
    return _activation_backward(dy, y, "relu")


def sigmoid(x):
    return _activation_forward(x, "sigmoid")


def sigmoid_backward(dy, y):
    return _activation_backward(dy, y, "sigmoid")


def tanh(x):
    return _activation_forward(x, "tanh")


def tanh_backward(dy, y):
    return _activation_backward(dy, y, "tanh")


def softmax(x):
    x = _float32(x, "x", min_ndim=1)
    y = _cp().empty_like(x)
    _softmax_rows(x, y)
    return y


def softmax_backward(dy, y):
    dy = _float32(dy, "dy", min_ndim=1)
    y = _float32(y, "y")
    _same_shape(y, "y", dy, "dy")
    dx = _cp().empty_like(dy)
    _softmax_backward_rows(dy, y, dx)
    return dx


# --- convolution and pooling (NHWC) --------------------------------------------------------------


def _pair(v, name: str) -> tuple[int, int]:
    """An int or a pair of ints, each >= 1 (strides, pool sizes)."""
    if isinstance(v, (str, bool)):
        raise TypeError(f"{name}: expected an int or a pair of ints, got {v!r}")
    try:
        pair = (operator.index(v),) * 2
    except TypeError:
        try:
            items = list(v)
            if len(items) != 2 or any(isinstance(d, bool) for d in items):
                raise TypeError
            pair = tuple(operator.index(d) for d in items)
        except TypeError:
            raise TypeError(f"{name}: expected an int or a pair of ints, got {v!r}") from None
    if min(pair) < 1:
        raise ValueError(f"{name}: expected positive values, got {v!r}")
    return pair


def _padding(v, name: str = "padding") -> str:
    if not isinstance(v, str):
        raise TypeError(f"{name}: expected 'valid' or 'same', got {v!r}")
    if v.lower() not in ("valid", "same"):
        raise ValueError(f"{name}: expected 'valid' or 'same', got {v!r}")
    return v.lower()


def _shape4(v, name: str) -> tuple[int, int, int, int]:
    try:
        shape = tuple(operator.index(d) for d in v)
    except TypeError:
        raise TypeError(f"{name}: expected 4 ints (N, H, W, C), got {v!r}") from None
    if len(shape) != 4 or min(shape) < 0:
        raise ValueError(f"{name}: expected 4 non-negative ints (N, H, W, C), got {v!r}")
    return shape


def _window(x_shape, window, strides, padding: str, name: str):
    """Window2d (cuda/window.h) for NHWC x_shape, sized by window_axis (TensorFlow's rule)."""
    n, h, w, c = x_shape
    (kh, kw), (sh, sw) = window, strides
    if padding == "valid" and (h < kh or w < kw):
        raise ValueError(
            f"{name}: expected at least {(kh, kw)} rows and columns for 'valid' "
            f"padding, got shape {tuple(x_shape)}"
        )
    ho, pt = window_axis(h, kh, sh, padding)
    wo, pl = window_axis(w, kw, sw, padding)
    return (n, h, w, c, kh, kw, sh, sw, pt, pl, ho, wo)


def _im2col(x, g):
    n, _, _, c, kh, kw, _, _, _, _, ho, wo = g
    cols = _cp().empty((n * ho * wo, kh * kw * c), dtype=_cp().float32)
    _k.im2col(_ptr(x), g, _ptr(cols), _stream())
    return cols


def _conv_args(x, w, strides, padding, dilation=(1, 1), last_axis="filters"):
    """x, w and the Window2d of the (dilated) kernel's window over x; last_axis names w's last
    axis in the error on a w of the wrong shape."""
    x = _float32(x, "x", 4)
    w = _float32(w, "w", 4)
    kh, kw, c, _ = w.shape
    _require_shape(
        c == x.shape[3] and kh >= 1 and kw >= 1,
        "w",
        w,
        f"(kh >= 1, kw >= 1, {x.shape[3]}, {last_axis}) for x {x.shape}",
    )
    window = ((kh - 1) * dilation[0] + 1, (kw - 1) * dilation[1] + 1)
    g = _window(x.shape, window, _pair(strides, "strides"), _padding(padding), "x")
    return x, w, g


def _dilation(dilation_rate, strides):
    d = _pair(dilation_rate, "dilation_rate")
    if max(d) > 1 and max(_pair(strides, "strides")) > 1:
        raise ValueError(
            f"dilation_rate: {dilation_rate!r} > 1 needs strides 1, got strides {strides!r}"
        )
    return d


# A dilated convolution runs as an undilated "valid" one over the dilation's phase images, as
# TensorFlow's space_to_batch (cpp/conv/conv2d_dilated.h): phase (a, b) of an image holds the padded
# input cells at rows a + i dh and columns b + j dw, image (n, a, b) of the phase batch.


def _phase_geometry(g, w, d):
    """(rows, cols) of the output and of the input phase images."""
    kh, kw = w.shape[:2]
    ho, wo = -(-g[10] // d[0]), -(-g[11] // d[1])
    return (ho, wo), (ho + kh - 1, wo + kw - 1)


def _to_phases(x, d, top, left, rows, cols):
    n, h, w, c = x.shape
    full = _cp().zeros((n, rows * d[0], cols * d[1], c), dtype=_cp().float32)
    full[:, top : top + h, left : left + w] = x
    phases = full.reshape(n, rows, d[0], cols, d[1], c).transpose(0, 2, 4, 1, 3, 5)
    return _cp().ascontiguousarray(phases).reshape(n * d[0] * d[1], rows, cols, c)


def _from_phases(xs, d, n, h, w, top, left):
    _, rows, cols, c = xs.shape
    full = xs.reshape(n, d[0], d[1], rows, cols, c).transpose(0, 3, 1, 4, 2, 5)
    full = full.reshape(n, rows * d[0], cols * d[1], c)
    return _cp().ascontiguousarray(full[:, top : top + h, left : left + w])


def _dilated(conv, x, w, b, g, d):
    """The dilated convolution's output: conv (undilated, 'valid') over x's phase images."""
    _, (rows, cols) = _phase_geometry(g, w, d)
    ys = conv(_to_phases(x, d, g[8], g[9], rows, cols), w, b)
    return _from_phases(ys, d, g[0], g[10], g[11], 0, 0)


def _dilated_backward(conv_backward, dy, x, w, g, d, need_dx):
    """(dx, dw, db) of _dilated, conv_backward being conv's."""
    (pho, pwo), (rows, cols) = _phase_geometry(g, w, d)
    xs = _to_phases(x, d, g[8], g[9], rows, cols)
    dxs, dw, db = conv_backward(_to_phases(dy, d, 0, 0, pho, pwo), xs, w, 1, "valid", need_dx)
    dx = _from_phases(dxs, d, g[0], g[1], g[2], g[8], g[9]) if need_dx else None
    return dx, dw, db


def conv2d(x, w, b=None, strides=(1, 1), padding="valid", dilation_rate=(1, 1)):
    d = _dilation(dilation_rate, strides)
    x, w, g = _conv_args(x, w, strides, padding, d)
    kh, kw, c, f = w.shape
    b = _float32_or_none(b, "b", 1)
    if b is not None:
        _require_shape(b.shape == (f,), "b", b, f"({f},) for w {w.shape}")
    n, ho, wo = g[0], g[10], g[11]
    if d != (1, 1):
        return _dilated(conv2d, x, w, b, g, d)
    cols = _im2col(x, g)
    y = _gemm(cols, w.reshape(kh * kw * c, f), False, False, n * ho * wo, f, kh * kw * c, b)
    return y.reshape(n, ho, wo, f)


def conv2d_backward(dy, x, w, strides=(1, 1), padding="valid", need_dx=True, dilation_rate=(1, 1)):
    need_dx = _bool(need_dx, "need_dx")
    dy = _float32(dy, "dy", 4)
    d = _dilation(dilation_rate, strides)
    x, w, g = _conv_args(x, w, strides, padding, d)
    kh, kw, c, f = w.shape
    n, ho, wo = g[0], g[10], g[11]
    _require_shape(dy.shape == (n, ho, wo, f), "dy", dy, f"{(n, ho, wo, f)}, the output of conv2d")
    if d != (1, 1):
        return _dilated_backward(conv2d_backward, dy, x, w, g, d, need_dx)
    rows, patch = n * ho * wo, kh * kw * c
    cols = _im2col(x, g)
    dy2 = dy.reshape(rows, f)
    dw = _gemm(cols, dy2, True, False, patch, f, rows).reshape(w.shape)
    dx = None
    if need_dx:
        dcols = _gemm(dy2, w.reshape(patch, f), False, True, rows, patch, f)
        dx = _cp().empty(x.shape, dtype=_cp().float32)
        _k.col2im(_ptr(dcols), g, _ptr(dx), _stream())
    return dx, dw, _bias_grad(dy2, f)


def _pool_window(x_shape, pool_size, strides, padding, name: str):
    pool = _pair(pool_size, "pool_size")
    strides = pool if strides is None else _pair(strides, "strides")
    return _window(x_shape, pool, strides, _padding(padding), name)


def _tap_dtype(g):
    """max_pool2d's argmax dtype for Window2d g: the reference's rule (uint8 up to 256 cells)."""
    return reference._tap_dtype((g[4], g[5]))


def max_pool2d(x, pool_size=(2, 2), strides=None, padding="valid"):
    x = _float32(x, "x", 4)
    g = _pool_window(x.shape, pool_size, strides, padding, "x")
    out_shape = (g[0], g[10], g[11], g[3])
    y = _cp().empty(out_shape, dtype=_cp().float32)
    argmax = _cp().empty(out_shape, dtype=_tap_dtype(g))
    _k.max_pool_forward(_ptr(x), g, _ptr(y), _ptr(argmax), argmax.itemsize, _stream())
    return y, argmax


def _check_taps(argmax, g):
    """ValueError naming the first argmax value that is no real cell of its window (one read-back:
    the kernel would route such a value's gradient nowhere)."""
    cp = _cp()
    n, h, w, c, kh, kw, sh, sw, pt, pl, ho, wo = g
    if argmax.size == 0:
        return
    taps = argmax.astype(cp.int64)
    rows = cp.arange(ho).reshape(ho, 1, 1) * sh - pt + taps // kw
    cols = cp.arange(wo).reshape(wo, 1) * sw - pl + taps % kw
    bad = (taps >= kh * kw) | (rows < 0) | (rows >= h) | (cols < 0) | (cols >= w)
    if bool(bad.any()):
        first = int(bad.ravel().argmax())  # the first True
        at, rest = [], first
        for size in reversed(argmax.shape):
            at.insert(0, rest % size)
            rest //= size
        raise ValueError(
            f"argmax: value {int(argmax.ravel()[first])} at ({', '.join(map(str, at))}) names no "
            f"real cell of its ({kh}, {kw}) window in x_shape {(n, h, w, c)}"
        )


def max_pool2d_backward(dy, argmax, x_shape, pool_size=(2, 2), strides=None, padding="valid"):
    x_shape = _shape4(x_shape, "x_shape")
    dy = _float32(dy, "dy", 4)
    g = _pool_window(x_shape, pool_size, strides, padding, "x_shape")
    out_shape = (g[0], g[10], g[11], g[3])
    _require_shape(dy.shape == out_shape, "dy", dy, f"{out_shape}, the pooled x_shape {x_shape}")
    want = _tap_dtype(g)
    dtype = getattr(argmax, "dtype", None)
    if dtype != want:  # no silent conversion (of, say, another library's int64 flat indices)
        got = str(type(argmax)) if dtype is None else f"dtype {dtype}"
        raise ValueError(
            f"argmax: expected the {_cp().dtype(want)} array max_pool2d returns for a "
            f"({g[4]}, {g[5]}) window, got {got}"
        )
    argmax = _cp().ascontiguousarray(_cp().asarray(argmax))
    _require_shape(argmax.shape == dy.shape, "argmax", argmax, f"the shape of dy {dy.shape}")
    if not _in_training_step:
        _check_taps(argmax, g)
    dx = _cp().empty(x_shape, dtype=_cp().float32)
    _k.max_pool_backward(_ptr(dy), _ptr(argmax), argmax.itemsize, g, _ptr(dx), _stream())
    return dx


def avg_pool2d(x, pool_size=(2, 2), strides=None, padding="valid"):
    x = _float32(x, "x", 4)
    g = _pool_window(x.shape, pool_size, strides, padding, "x")
    y = _cp().empty((g[0], g[10], g[11], g[3]), dtype=_cp().float32)
    _k.avg_pool_forward(_ptr(x), g, _ptr(y), _stream())
    return y


def avg_pool2d_backward(dy, x_shape, pool_size=(2, 2), strides=None, padding="valid"):
    x_shape = _shape4(x_shape, "x_shape")
    dy = _float32(dy, "dy", 4)
    g = _pool_window(x_shape, pool_size, strides, padding, "x_shape")
    out_shape = (g[0], g[10], g[11], g[3])
    _require_shape(dy.shape == out_shape, "dy", dy, f"{out_shape}, the output of avg_pool2d")
    dx = _cp().empty(x_shape, dtype=_cp().float32)
    _k.avg_pool_backward(_ptr(dy), g, _ptr(dx), _stream())
    return dx


# --- recurrent layers over whole sequences (N, T, I) ---------------------------------------------
#
# Internally time-major: x is transposed once to (T, N, I) so that every step's slice is a
# contiguous (N, .) block. One GEMM projects the inputs of all steps; each step then runs one
# recurrent GEMM (into a reused buffer) and one fused gate kernel. The backward walks the steps in
# reverse with the mirror-image kernel and GEMM, and finishes with three whole-sequence GEMMs
# (dx, dkernel, drecurrent_kernel). The cache is a tuple of GPU arrays; it is checked like any
# argument before the backward reads it. It holds the initial states too, which is why the
# backward functions take h0 / c0 (the contract's signature) without reading them.


def _time_major(x):
    return _cp().ascontiguousarray(x.transpose(1, 0, 2))


def _rnn_args(x, kernel, recurrent_kernel, gates: int):
    x = _float32(x, "x", 3)
    kernel = _float32(kernel, "kernel", 2)
    recurrent_kernel = _float32(recurrent_kernel, "recurrent_kernel", 2)
    units = recurrent_kernel.shape[0]
    _require_shape(
        recurrent_kernel.shape[1] == gates * units,
        "recurrent_kernel",
        recurrent_kernel,
        f"(units, {gates} * units)",
    )
    _require_shape(
        kernel.shape == (x.shape[2], gates * units),
        "kernel",
        kernel,
        f"{(x.shape[2], gates * units)} for x {x.shape} and recurrent_kernel "
        f"{recurrent_kernel.shape}",
    )
    return x, kernel, recurrent_kernel, units


def _state(h, name: str, n: int, units: int):
    """An initial state (N, U), zeros when None."""
    if h is None:
        return _cp().zeros((n, units), dtype=_cp().float32)
    h = _float32(h, name, 2)
    _require_shape(h.shape == (n, units), name, h, f"{(n, units)}")
    return h


def _step_keep(mask, n: int, t: int):
    """The (N, T) step mask as (T, N, 1) booleans, True where the step runs; None for None.
    A masked step is composed around the step kernels with where(): its states keep their
    previous values, and its state gradients pass through while its gates get none."""
    if mask is None:
        return None
    mask = _float32(mask, "mask", 2)
    _require_shape(mask.shape == (n, t), "mask", mask, f"{(n, t)} = (batch, steps)")
    return (mask.T != 0)[:, :, None]


def _input_projection(x_tm, kernel, bias):
    """x_t @ kernel + bias for every step at once: (T, N, G * U)."""
    t, n, i = x_tm.shape
    gu = kernel.shape[1]
    return _gemm(x_tm.reshape(t * n, i), kernel, False, False, t * n, gu, i, bias).reshape(t, n, gu)


def _sequence_grads(dxw, x_tm, kernel, h_prev, drw, recurrent_kernel):
    """dx (N, T, I), dkernel and drecurrent_kernel from the per-step gradients of the input
    projection dxw (T, N, G * U) and of the recurrent one drw, with h_prev (T, N, U) the state
    each step started from."""
    t, n, i = x_tm.shape
    gu, units = kernel.shape[1], recurrent_kernel.shape[0]
    dxw2, drw2 = dxw.reshape(t * n, gu), drw.reshape(t * n, gu)
    dx = _gemm(dxw2, kernel, False, True, t * n, i, gu).reshape(t, n, i).transpose(1, 0, 2)
    dkernel = _gemm(x_tm.reshape(t * n, i), dxw2, True, False, i, gu, t * n)
    drec = _gemm(h_prev.reshape(t * n, units), drw2, True, False, units, gu, t * n)
    return _cp().ascontiguousarray(dx), dkernel, drec


def _cache(cache, kinds: str, shapes):
    """The cache a forward returned: a tuple of float32 GPU arrays of the expected shapes."""
    if not isinstance(cache, tuple) or len(cache) != len(shapes):
        raise TypeError(f"cache: expected the cache that shendu's CUDA {kinds} returned")
    for j, (a, shape) in enumerate(zip(cache, shapes)):
        _on_device(a, f"cache[{j}]", "a float32")
        if a.dtype != _cp().float32 or not a.flags.c_contiguous:
            raise TypeError(f"cache: expected the cache that shendu's CUDA {kinds} returned")
        _require_shape(a.shape == shape, f"cache[{j}]", a, f"{shape}")
    return cache


def _backward_args(dhs, dh_t, x, kernel, recurrent_kernel, gates: int):
    x, kernel, recurrent_kernel, units = _rnn_args(x, kernel, recurrent_kernel, gates)
    n, t, _ = x.shape
    dhs = _float32(dhs, "dhs", 3)
    _require_shape(dhs.shape == (n, t, units), "dhs", dhs, f"{(n, t, units)}")
    return x, kernel, recurrent_kernel, units, _time_major(dhs), _state(dh_t, "dh_T", n, units)


# The cells' activations in cuda/rnn.h's order (RnnActivation).
_RNN_ACTIVATIONS = ("tanh", "sigmoid", "relu", "hard_sigmoid", "linear")


def _activation_id(name, argument: str) -> int:
    accepted = ", ".join(repr(a) for a in _RNN_ACTIVATIONS)
    if not isinstance(name, str):
        raise TypeError(
            f"{argument}: expected a str (one of {accepted}), got {type(name).__name__}"
        )
    if name not in _RNN_ACTIVATIONS:
        raise ValueError(f"{argument}: expected one of {accepted}, got {name!r}")
    return _RNN_ACTIVATIONS.index(name)


def _activation_ids(activation, recurrent_activation):
    return (
        _activation_id(activation, "activation"),
        _activation_id(recurrent_activation, "recurrent_activation"),
    )


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
    act, rec = _activation_ids(activation, recurrent_activation)
    x, kernel, recurrent_kernel, units = _rnn_args(x, kernel, recurrent_kernel, 4)
    n, t, _ = x.shape
    keep = _step_keep(mask, n, t)
    bias = _float32_or_none(bias, "bias", 1)
    if bias is not None:
        _require_shape(bias.shape == (4 * units,), "bias", bias, f"({4 * units},)")
    cp, s = _cp(), _stream()
    x_tm = _time_major(x)
    xw = _input_projection(x_tm, kernel, bias)
    hs = cp.empty((t + 1, n, units), dtype=cp.float32)  # hs[0] = h0, hs[t + 1] = h_t
    cs = cp.empty((t + 1, n, units), dtype=cp.float32)
    hs[0] = _state(h0, "h0", n, units)
    cs[0] = _state(c0, "c0", n, units)
    gates = cp.empty((t, n, 4 * units), dtype=cp.float32)
    hu = cp.empty((n, 4 * units), dtype=cp.float32)
    for step in range(t):
        _gemm(hs[step], recurrent_kernel, False, False, n, 4 * units, units, out=hu)
        _k.lstm_step_forward(
            _ptr(xw[step]),
            _ptr(hu),
            _ptr(cs[step]),
            _ptr(gates[step]),
            _ptr(cs[step + 1]),
            _ptr(hs[step + 1]),
            n,
            units,
            act,
            rec,
            s,
        )
        if keep is not None:
            hs[step + 1] = cp.where(keep[step], hs[step + 1], hs[step])
            cs[step + 1] = cp.where(keep[step], cs[step + 1], cs[step])
    out = cp.ascontiguousarray(hs[1:].transpose(1, 0, 2))
    return out, hs[t].copy(), cs[t].copy(), (hs, cs, gates)


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
    act, rec = _activation_ids(activation, recurrent_activation)
    x, kernel, recurrent_kernel, units, dhs_tm, dh_rec = _backward_args(
        dhs, dh_T, x, kernel, recurrent_kernel, 4
    )
    n, t, _ = x.shape
    keep = _step_keep(mask, n, t)
    dc = _state(dc_T, "dc_T", n, units).copy()  # updated in place, step by step
    dh_rec = dh_rec.copy()
    hs, cs, gates = _cache(cache, "lstm", [(t + 1, n, units), (t + 1, n, units), (t, n, 4 * units)])
    cp, s = _cp(), _stream()
    dz = cp.empty((t, n, 4 * units), dtype=cp.float32)
    for step in reversed(range(t)):
        if keep is not None:
            dh_pass, dc_pass = dh_rec + dhs_tm[step], dc.copy()
        _k.lstm_step_backward(
            _ptr(dhs_tm[step]),
            _ptr(dh_rec),
            _ptr(gates[step]),
            _ptr(cs[step + 1]),
            _ptr(cs[step]),
            _ptr(dc),
            _ptr(dz[step]),
            n,
            units,
            act,
            rec,
            s,
        )
        if keep is not None:
            dz[step] = cp.where(keep[step], dz[step], 0.0)
            dc[...] = cp.where(keep[step], dc, dc_pass)
        _gemm(dz[step], recurrent_kernel, False, True, n, units, 4 * units, out=dh_rec)
        if keep is not None:
            dh_rec[...] = cp.where(keep[step], dh_rec, dh_pass)
    dx, dkernel, drec = _sequence_grads(dz, _time_major(x), kernel, hs[:t], dz, recurrent_kernel)
    return dx, dkernel, drec, _bias_grad(dz, 4 * units), dh_rec, dc


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
    act, rec = _activation_ids(activation, recurrent_activation)
    if not reset_after:
        return _gru_reset_before(x, kernel, recurrent_kernel, bias, h0, mask, act, rec)
    x, kernel, recurrent_kernel, units = _rnn_args(x, kernel, recurrent_kernel, 3)
    n, t, _ = x.shape
    keep = _step_keep(mask, n, t)
    bias = _float32_or_none(bias, "bias", 2)
    if bias is not None:
        _require_shape(bias.shape == (2, 3 * units), "bias", bias, f"{(2, 3 * units)}")
    cp, s = _cp(), _stream()
    x_tm = _time_major(x)
    xw = _input_projection(x_tm, kernel, None if bias is None else bias[0])
    hs = cp.empty((t + 1, n, units), dtype=cp.float32)
    hs[0] = _state(h0, "h0", n, units)
    gates = cp.empty((t, n, 4 * units), dtype=cp.float32)
    hu = cp.empty((n, 3 * units), dtype=cp.float32)
    rec_bias = None if bias is None else bias[1]
    for step in range(t):
        _gemm(hs[step], recurrent_kernel, False, False, n, 3 * units, units, rec_bias, out=hu)
        _k.gru_step_forward(
            _ptr(xw[step]),
            _ptr(hu),
            _ptr(hs[step]),
            _ptr(gates[step]),
            _ptr(hs[step + 1]),
            n,
            units,
            act,
            rec,
            s,
        )
        if keep is not None:
            hs[step + 1] = cp.where(keep[step], hs[step + 1], hs[step])
    out = cp.ascontiguousarray(hs[1:].transpose(1, 0, 2))
    return out, hs[t].copy(), (hs, gates)


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
    act, rec = _activation_ids(activation, recurrent_activation)
    if not reset_after:
        return _gru_reset_before_backward(
            dhs, dh_T, x, kernel, recurrent_kernel, cache, mask, act, rec
        )
    x, kernel, recurrent_kernel, units, dhs_tm, dh_direct = _backward_args(
        dhs, dh_T, x, kernel, recurrent_kernel, 3
    )
    n, t, _ = x.shape
    keep = _step_keep(mask, n, t)
    dh_direct = dh_direct.copy()  # dh * z of the step after, updated in place
    hs, gates = _cache(cache, "gru", [(t + 1, n, units), (t, n, 4 * units)])
    cp, s = _cp(), _stream()
    dh_rec = cp.zeros((n, units), dtype=cp.float32)
    dxw = cp.empty((t, n, 3 * units), dtype=cp.float32)
    dhu = cp.empty((t, n, 3 * units), dtype=cp.float32)
    for step in reversed(range(t)):
        if keep is not None:
            dh_pass = dh_direct + dh_rec + dhs_tm[step]
        _k.gru_step_backward(
            _ptr(dhs_tm[step]),
            _ptr(dh_direct),
            _ptr(dh_rec),
            _ptr(gates[step]),
            _ptr(hs[step]),
            _ptr(dxw[step]),
            _ptr(dhu[step]),
            n,
            units,
            act,
            rec,
            s,
        )
        if keep is not None:  # a masked row's dhu is zero, so is its dh_rec after the GEMM
            dxw[step] = cp.where(keep[step], dxw[step], 0.0)
            dhu[step] = cp.where(keep[step], dhu[step], 0.0)
            dh_direct[...] = cp.where(keep[step], dh_direct, dh_pass)
        _gemm(dhu[step], recurrent_kernel, False, True, n, units, 3 * units, out=dh_rec)
    dx, dkernel, drec = _sequence_grads(dxw, _time_major(x), kernel, hs[:t], dhu, recurrent_kernel)
    dbias = cp.stack([_bias_grad(dxw, 3 * units), _bias_grad(dhu, 3 * units)])
    return dx, dkernel, drec, dbias, dh_direct + dh_rec


def _recurrent_halves(recurrent_kernel, units: int):
    """The z and r columns (U, 2U) and the candidate's (U, U) of the recurrent kernel, each
    contiguous for the GEMMs."""
    cp = _cp()
    zr = cp.ascontiguousarray(recurrent_kernel[:, : 2 * units])
    return zr, cp.ascontiguousarray(recurrent_kernel[:, 2 * units :])


def _gru_reset_before(x, kernel, recurrent_kernel, bias, h0, mask, act: int, rec: int):
    """gru with reset_after=False: per step the z and r product, the gate kernel (which writes
    r * h_prev), the candidate's product (r * h_prev) @ U_h, the candidate kernel."""
    x, kernel, recurrent_kernel, units = _rnn_args(x, kernel, recurrent_kernel, 3)
    n, t, _ = x.shape
    keep = _step_keep(mask, n, t)
    bias = _float32_or_none(bias, "bias", 1)
    if bias is not None:
        _require_shape(bias.shape == (3 * units,), "bias", bias, f"({3 * units},)")
    cp, s = _cp(), _stream()
    u_zr, u_h = _recurrent_halves(recurrent_kernel, units)
    xw = _input_projection(_time_major(x), kernel, bias)
    hs = cp.empty((t + 1, n, units), dtype=cp.float32)
    hs[0] = _state(h0, "h0", n, units)
    gates = cp.empty((t, n, 3 * units), dtype=cp.float32)
    rh_in = cp.empty((t, n, units), dtype=cp.float32)  # r * h_prev, for the weight gradients
    hu_zr = cp.empty((n, 2 * units), dtype=cp.float32)
    hu_h = cp.empty((n, units), dtype=cp.float32)
    for step in range(t):
        _gemm(hs[step], u_zr, False, False, n, 2 * units, units, out=hu_zr)
        _k.gru_gates_step_forward(
            _ptr(xw[step]),
            _ptr(hu_zr),
            _ptr(hs[step]),
            _ptr(gates[step]),
            _ptr(rh_in[step]),
            n,
            units,
            rec,
            s,
        )
        _gemm(rh_in[step], u_h, False, False, n, units, units, out=hu_h)
        _k.gru_candidate_step_forward(
            _ptr(xw[step]),
            _ptr(hu_h),
            _ptr(hs[step]),
            _ptr(gates[step]),
            _ptr(hs[step + 1]),
            n,
            units,
            act,
            s,
        )
        if keep is not None:  # a masked row's rh_in must not reach the weight gradients
            hs[step + 1] = cp.where(keep[step], hs[step + 1], hs[step])
            rh_in[step] = cp.where(keep[step], rh_in[step], 0.0)
    out = cp.ascontiguousarray(hs[1:].transpose(1, 0, 2))
    return out, hs[t].copy(), (hs, gates, rh_in)


def _gru_reset_before_backward(dhs, dh_T, x, kernel, recurrent_kernel, cache, mask, act, rec):
    x, kernel, recurrent_kernel, units, dhs_tm, dh_direct = _backward_args(
        dhs, dh_T, x, kernel, recurrent_kernel, 3
    )
    n, t, _ = x.shape
    keep = _step_keep(mask, n, t)
    dh_direct = dh_direct.copy()  # the part of dh_prev that skips the z and r GEMM, in place
    hs, gates, rh_in = _cache(cache, "gru", [(t + 1, n, units), (t, n, 3 * units), (t, n, units)])
    cp, s = _cp(), _stream()
    u_zr, u_h = _recurrent_halves(recurrent_kernel, units)
    dh_rec = cp.zeros((n, units), dtype=cp.float32)
    drh = cp.empty((n, units), dtype=cp.float32)
    dzr = cp.empty((t, n, 2 * units), dtype=cp.float32)
    dhh = cp.empty((t, n, units), dtype=cp.float32)
    for step in reversed(range(t)):
        if keep is not None:
            dh_pass = dh_direct + dh_rec + dhs_tm[step]
        _k.gru_candidate_step_backward(
            _ptr(dhs_tm[step]),
            _ptr(dh_direct),
            _ptr(dh_rec),
            _ptr(gates[step]),
            _ptr(hs[step]),
            _ptr(dzr[step]),
            _ptr(dhh[step]),
            n,
            units,
            act,
            rec,
            s,
        )
        if keep is not None:  # a masked row's gates get nothing, so neither does its rh_in
            dhh[step] = cp.where(keep[step], dhh[step], 0.0)
        _gemm(dhh[step], u_h, False, True, n, units, units, out=drh)
        _k.gru_gates_step_backward(
            _ptr(drh),
            _ptr(hs[step]),
            _ptr(gates[step]),
            _ptr(dzr[step]),
            _ptr(dh_direct),
            n,
            units,
            rec,
            s,
        )
        if keep is not None:
            dzr[step] = cp.where(keep[step], dzr[step], 0.0)
            dh_direct[...] = cp.where(keep[step], dh_direct, dh_pass)
        _gemm(dzr[step], u_zr, False, True, n, units, 2 * units, out=dh_rec)
    x_tm = _time_major(x)
    dxw = cp.concatenate([dzr, dhh], axis=2)
    rows = t * n
    dxw2 = dxw.reshape(rows, 3 * units)
    dx = _gemm(dxw2, kernel, False, True, rows, x.shape[2], 3 * units)
    dx = cp.ascontiguousarray(dx.reshape(t, n, x.shape[2]).transpose(1, 0, 2))
    dkernel = _gemm(x_tm.reshape(rows, x.shape[2]), dxw2, True, False, x.shape[2], 3 * units, rows)
    drec_zr = _gemm(
        hs[:t].reshape(rows, units),
        dzr.reshape(rows, 2 * units),
        True,
        False,
        units,
        2 * units,
        rows,
    )
    drec_h = _gemm(
        rh_in.reshape(rows, units), dhh.reshape(rows, units), True, False, units, units, rows
    )
    drec = cp.concatenate([drec_zr, drec_h], axis=1)
    return dx, dkernel, drec, _bias_grad(dxw, 3 * units), dh_direct + dh_rec


def simple_rnn(x, kernel, recurrent_kernel, bias, h0=None, mask=None, activation="tanh"):
    act = _activation_id(activation, "activation")
    x, kernel, recurrent_kernel, units = _rnn_args(x, kernel, recurrent_kernel, 1)
    n, t, _ = x.shape
    keep = _step_keep(mask, n, t)
    bias = _float32_or_none(bias, "bias", 1)
    if bias is not None:
        _require_shape(bias.shape == (units,), "bias", bias, f"({units},)")
    cp, s = _cp(), _stream()
    xw = _input_projection(_time_major(x), kernel, bias)
    hs = cp.empty((t + 1, n, units), dtype=cp.float32)
    hs[0] = _state(h0, "h0", n, units)
    hu = cp.empty((n, units), dtype=cp.float32)
    for step in range(t):
        _gemm(hs[step], recurrent_kernel, False, False, n, units, units, out=hu)
        _k.rnn_step_forward(_ptr(xw[step]), _ptr(hu), _ptr(hs[step + 1]), n, units, act, s)
        if keep is not None:
            hs[step + 1] = cp.where(keep[step], hs[step + 1], hs[step])
    out = cp.ascontiguousarray(hs[1:].transpose(1, 0, 2))
    return out, hs[t].copy(), (hs,)


def simple_rnn_backward(
    dhs, dh_T, x, kernel, recurrent_kernel, cache, h0=None, mask=None, activation="tanh"
):
    act = _activation_id(activation, "activation")
    x, kernel, recurrent_kernel, units, dhs_tm, dh_rec = _backward_args(
        dhs, dh_T, x, kernel, recurrent_kernel, 1
    )
    n, t, _ = x.shape
    keep = _step_keep(mask, n, t)
    dh_rec = dh_rec.copy()
    (hs,) = _cache(cache, "simple_rnn", [(t + 1, n, units)])
    cp, s = _cp(), _stream()
    dz = cp.empty((t, n, units), dtype=cp.float32)
    for step in reversed(range(t)):
        if keep is not None:
            dh_pass = dh_rec + dhs_tm[step]
        _k.rnn_step_backward(
            _ptr(dhs_tm[step]), _ptr(dh_rec), _ptr(hs[step + 1]), _ptr(dz[step]), n, units, act, s
        )
        if keep is not None:
            dz[step] = cp.where(keep[step], dz[step], 0.0)
        _gemm(dz[step], recurrent_kernel, False, True, n, units, units, out=dh_rec)
        if keep is not None:
            dh_rec[...] = cp.where(keep[step], dh_rec, dh_pass)
    dx, dkernel, drec = _sequence_grads(dz, _time_major(x), kernel, hs[:t], dz, recurrent_kernel)
    return dx, dkernel, drec, _bias_grad(dz, units), dh_rec


# --- embedding, dropout ---------------------------------------------------------------------------


def embedding(ids, table):
    table = _float32(table, "table", 2)
    ids = _indices(ids, "ids", table.shape[0])
    dim = table.shape[1]
    out = _cp().empty(ids.shape + (dim,), dtype=_cp().float32)
    _k.embedding_gather(_ptr(ids), ids.size, _ptr(table), dim, _ptr(out), _stream())
    return out


def embedding_backward(dy, ids, vocab_size):
    vocab_size = _int(vocab_size, "vocab_size", 0)
    dy = _float32(dy, "dy")
    ids = _indices(ids, "ids", vocab_size, checked=_in_training_step)
    _require_shape(
        dy.ndim == ids.ndim + 1 and dy.shape[:-1] == ids.shape,
        "dy",
        dy,
        f"ids.shape + (dim,) for ids {ids.shape}",
    )
    cp, n, dim = _cp(), ids.size, dy.shape[-1]
    dtable = cp.zeros((vocab_size, dim), dtype=cp.float32)
    if n == 0 or dim == 0:
        return dtable
    # Sorted by (id, position): the keys are unique, so the order is fixed whatever the sort does
    # with ties, and each id's rows are added in position order, as the CPU kernel adds them
    # (the same bits, on every run).
    flat = ids.reshape(-1)
    order = cp.lexsort(cp.stack([cp.arange(n, dtype=cp.int64), flat]))
    sorted_ids = flat[order]
    _k.embedding_segment_sum(
        _ptr(dy), _ptr(order), _ptr(sorted_ids), n, dim, _ptr(dtable), _stream()
    )
    return dtable


def dropout(x, rate, seed):
    rate = _in_unit_interval(rate, "rate", closed=False)
    seed = _int(seed, "seed", 0)  # the kernel forms seed * 2**32 + i modulo 2**64, as NumPy
    x = _float32(x, "x")
    y = _cp().empty_like(x)
    mask = _cp().empty_like(x)
    _k.dropout(_ptr(x), x.size, seed, rate, 1.0 / (1.0 - rate), _ptr(y), _ptr(mask), _stream())
    return y, mask


# --- losses: (mean loss as a Python float, gradient w.r.t. the first argument) ------------------


def _mean(terms, count: int):
    """Totals the loss terms on the GPU (in float64) and reads back that one scalar; inside
    training_step(), returns the mean as a 0-d GPU array instead, without waiting."""
    if count == 0:
        return 0.0  # the contract's value for an empty batch
    total = _cp().empty((), dtype=_cp().float64)
    scratch = _scratch(_k.sum_to_double_scratch(terms.size), _cp().float64)
    _k.sum_to_double(_ptr(terms), terms.size, _ptr(total), _ptr(scratch), _stream())
    return total / count if _in_training_step else float(total) / count


def sparse_softmax_cross_entropy(logits, labels):
    logits = _float32(logits, "logits", 2)
    n, classes = logits.shape
    _require_shape(classes >= 1, "logits", logits, "(N, C) with C >= 1")
    labels = _indices(labels, "labels", classes, checked=_in_training_step)
    _require_shape(labels.shape == (n,), "labels", labels, f"({n},) for logits {logits.shape}")
    grad = _cp().empty_like(logits)
    terms = _cp().empty(n, dtype=_cp().float32)
    _k.sparse_softmax_cross_entropy(
        _ptr(logits), _ptr(labels), n, classes, _ptr(grad), _ptr(terms), _stream()
    )
    return _mean(terms, n), grad


def softmax_cross_entropy(logits, onehot):
    logits = _float32(logits, "logits", 2)
    onehot = _float32(onehot, "onehot", 2)
    _same_shape(onehot, "onehot", logits, "logits")
    n, classes = logits.shape
    _require_shape(classes >= 1, "logits", logits, "(N, C) with C >= 1")
    grad = _cp().empty_like(logits)
    terms = _cp().empty(n, dtype=_cp().float32)
    _k.softmax_cross_entropy(
        _ptr(logits), _ptr(onehot), n, classes, _ptr(grad), _ptr(terms), _stream()
    )
    return _mean(terms, n), grad


def _pair_loss(kind: int, pred, targets, pred_name: str):
    pred = _float32(pred, pred_name)
    targets = _float32(targets, "targets")
    _same_shape(targets, "targets", pred, pred_name)
    grad = _cp().empty_like(pred)
    terms = _cp().empty(pred.size, dtype=_cp().float32)
    _k.pair_loss(kind, _ptr(pred), _ptr(targets), pred.size, _ptr(grad), _ptr(terms), _stream())
    return _mean(terms, pred.size), grad


def binary_cross_entropy(probs, targets):
    return _pair_loss(_BCE, probs, targets, "probs")


def sigmoid_binary_cross_entropy(logits, targets):
    return _pair_loss(_SIGMOID_BCE, logits, targets, "logits")


def mean_squared_error(pred, targets):
    return _pair_loss(_MSE, pred, targets, "pred")


# --- fused in-place optimizer updates ------------------------------------------------------------


def _grad_for(param, grad, name: str = "grad"):
    grad = _float32(grad, name)
    _same_shape(grad, name, param, "param")
    return grad


def _grad_sq_for(param, grad_sq):
    """The optional squared gradient (None: the kernels square grad)."""
    return None if grad_sq is None else _grad_for(param, grad_sq, "grad_sq")


def _state_for(param, state, name: str):
    state = _inplace(state, name)
    _same_shape(state, name, param, "param")
    return state


def _in_unit_interval(v, name: str, closed: bool) -> float:
    """A rate or decay factor in [0, 1] (closed) or [0, 1)."""
    f = _finite_float(v, name)
    if not (0.0 <= f <= 1.0 if closed else 0.0 <= f < 1.0):
        raise ValueError(f"{name}: expected a number in [0, 1{']' if closed else ')'}, got {v!r}")
    return f


def sgd_update(param, grad, velocity=None, learning_rate=0.01, momentum=0.0, nesterov=False):
    param = _inplace(param, "param")
    grad = _grad_for(param, grad)
    lr = _finite_float(learning_rate, "learning_rate")
    momentum = _in_unit_interval(momentum, "momentum", closed=True)
    if velocity is None:
        if momentum != 0.0:
            raise ValueError(
                f"velocity: None is only allowed with momentum 0, got momentum {momentum!r}"
            )
    else:
        velocity = _state_for(param, velocity, "velocity")
    _k.sgd_update(
        _ptr(param), _ptr(grad), _ptr(velocity), param.size, lr, momentum, bool(nesterov), _stream()
    )


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
    param = _inplace(param, "param")
    grad = _grad_for(param, grad)
    grad_sq = _grad_sq_for(param, grad_sq)
    m = _state_for(param, m, "m")
    v = _state_for(param, v, "v")
    step = _int(step, "step", 1)
    lr = _finite_float(learning_rate, "learning_rate")
    beta_1 = _in_unit_interval(beta_1, "beta_1", closed=False)
    beta_2 = _in_unit_interval(beta_2, "beta_2", closed=False)
    epsilon = _finite_float(epsilon, "epsilon")
    lr_t = lr * math.sqrt(1.0 - beta_2**step) / (1.0 - beta_1**step)
    _k.adam_update(
        _ptr(param),
        _ptr(grad),
        _ptr(grad_sq),
        _ptr(m),
        _ptr(v),
        param.size,
        lr_t,
        beta_1,
        beta_2,
        epsilon,
        _stream(),
    )


def rmsprop_update(param, grad, avg_sq, learning_rate=0.001, rho=0.9, epsilon=1e-7, grad_sq=None):
    param = _inplace(param, "param")
    grad = _grad_for(param, grad)
    grad_sq = _grad_sq_for(param, grad_sq)
    avg_sq = _state_for(param, avg_sq, "avg_sq")
    lr = _finite_float(learning_rate, "learning_rate")
    rho = _in_unit_interval(rho, "rho", closed=True)
    epsilon = _finite_float(epsilon, "epsilon")
    _k.rmsprop_update(
        _ptr(param),
        _ptr(grad),
        _ptr(grad_sq),
        _ptr(avg_sq),
        param.size,
        lr,
        rho,
        epsilon,
        _stream(),
    )


# --- elementwise activations, global pooling: CuPy compositions (not hot on the GPU) --------------


def _erf_gpu(x):
    import cupyx.scipy.special

    return cupyx.scipy.special.erf(x)


def activation(x, name, alpha=None):
    alpha = _pointwise.check(name, alpha)
    x = _float32(x, "x")
    return _pointwise.forward(_cp(), _erf_gpu, name, x, alpha).astype(_cp().float32)


def activation_backward(dy, x, y, name, alpha=None):
    alpha = _pointwise.check(name, alpha)
    dy = _float32(dy, "dy")
    x = _float32(x, "x")
    y = _float32(y, "y")
    _same_shape(x, "x", dy, "dy")
    _same_shape(y, "y", dy, "dy")
    derivative = _pointwise.derivative(_cp(), _erf_gpu, name, x, y, alpha)
    return (dy * derivative).astype(_cp().float32)


def _global_dy(dy, n, c, x_shape):
    dy = _float32(dy, "dy", 2)
    _require_shape(dy.shape == (n, c), "dy", dy, f"shape {(n, c)} (x_shape {x_shape} pooled)")
    return dy


def global_avg_pool(x):
    x = _float32(x, "x", 3)
    return x.sum(axis=1) / _cp().float32(x.shape[1])


def global_avg_pool_backward(dy, x_shape):
    if not isinstance(x_shape, (tuple, list)) or len(x_shape) != 3:
        raise TypeError(f"x_shape: expected a 3-tuple of ints, got {x_shape!r}")
    n, steps, c = (_int(v, "x_shape", 0) for v in x_shape)
    dy = _global_dy(dy, n, c, tuple(x_shape))
    g = dy / _cp().float32(steps)
    return _cp().ascontiguousarray(_cp().broadcast_to(g[:, None, :], (n, steps, c)))


def global_max_pool(x):
    x = _float32(x, "x", 3)
    if x.shape[1] == 0:
        return _cp().full((x.shape[0], x.shape[2]), -_cp().inf, dtype=_cp().float32)
    return x.max(axis=1)


def global_max_pool_backward(dy, x, y):
    x = _float32(x, "x", 3)
    n, _, c = x.shape
    dy = _global_dy(dy, n, c, x.shape)
    y = _float32(y, "y")
    _same_shape(y, "y", dy, "dy")
    hit = x == y[:, None, :]
    count = _cp().maximum(hit.sum(axis=1), 1).astype(_cp().float32)
    return _cp().where(hit, (dy / count)[:, None, :], _cp().float32(0))


# --- normalization (CuPy compositions: memory-bound elementwise passes and per-channel sums) ------


def _channel_axis(x, axis) -> int:
    if x.ndim == 0:
        raise ValueError(f"x: expected an array of at least 1 dimension, got shape {x.shape}")
    axis = _int(axis, "axis", -x.ndim)
    if axis >= x.ndim:
        raise ValueError(f"axis: expected an axis of x in [{-x.ndim}, {x.ndim}), got {axis}")
    return axis % x.ndim


def _channel_vector(v, name: str, channels: int, allow_none: bool):
    if v is None and allow_none:
        return None
    v = _float32(v, name, 1)
    _require_shape(v.shape[0] == channels, name, v, f"shape ({channels},)")
    return v


def _epsilon(v) -> float:
    eps = _finite_float(v, "epsilon")
    if eps < 0:
        raise ValueError(f"epsilon: expected a number >= 0, got {v!r}")
    return eps


def _broadcast(v, ndim: int, axis: int):
    return None if v is None else v.reshape((-1,) + (1,) * (ndim - 1 - axis))


def _scale_shift(x, axis, mean, variance, gamma, beta, epsilon):
    """y = (x - mean) * (gamma / sqrt(variance + epsilon)) + beta along axis."""
    a = 1 / _cp().sqrt(variance + _cp().float32(epsilon))
    if gamma is not None:
        a = a * gamma
    y = (x - _broadcast(mean, x.ndim, axis)) * _broadcast(a, x.ndim, axis)
    return y if beta is None else y + _broadcast(beta, x.ndim, axis)


def batch_norm(x, mean, variance, gamma=None, beta=None, epsilon=1e-3, axis=-1):
    x = _float32(x, "x")
    axis = _channel_axis(x, axis)
    c = x.shape[axis]
    mean = _channel_vector(mean, "mean", c, False)
    variance = _channel_vector(variance, "variance", c, False)
    gamma = _channel_vector(gamma, "gamma", c, True)
    beta = _channel_vector(beta, "beta", c, True)
    return _scale_shift(x, axis, mean, variance, gamma, beta, _epsilon(epsilon))


def batch_norm_training(x, gamma=None, beta=None, epsilon=1e-3, axis=-1):
    cp = _cp()
    x = _float32(x, "x")
    axis = _channel_axis(x, axis)
    c = x.shape[axis]
    gamma = _channel_vector(gamma, "gamma", c, True)
    beta = _channel_vector(beta, "beta", c, True)
    eps = _epsilon(epsilon)
    others = tuple(d for d in range(x.ndim) if d != axis)
    if x.size == 0:
        nan = cp.full(c, cp.nan, cp.float32)
        return x.copy(), nan, nan.copy()
    # Two passes (mean, then the mean square of x - mean): safe for data far from zero.
    mean = x.mean(axis=others)
    variance = cp.square(x - _broadcast(mean, x.ndim, axis)).mean(axis=others)
    return _scale_shift(x, axis, mean, variance, gamma, beta, eps), mean, variance


def batch_norm_backward(dy, x, gamma, mean, variance, epsilon=1e-3, axis=-1):
    cp = _cp()
    dy, x = _float32(dy, "dy"), _float32(x, "x")
    _same_shape(dy, "dy", x, "x")
    axis = _channel_axis(x, axis)
    c = x.shape[axis]
    gamma = _channel_vector(gamma, "gamma", c, True)
    mean = _channel_vector(mean, "mean", c, False)
    variance = _channel_vector(variance, "variance", c, False)
    istd = 1 / cp.sqrt(variance + cp.float32(_epsilon(epsilon)))
    others = tuple(d for d in range(x.ndim) if d != axis)
    count = max(x.size // max(c, 1), 1)
    xhat = (x - _broadcast(mean, x.ndim, axis)) * _broadcast(istd, x.ndim, axis)
    dbeta = dy.sum(axis=others)
    dgamma = (dy * xhat).sum(axis=others)
    a = istd if gamma is None else istd * gamma
    dx = _broadcast(a, x.ndim, axis) * (
        dy
        - _broadcast(dbeta / count, x.ndim, axis)
        - xhat * _broadcast(dgamma / count, x.ndim, axis)
    )
    return dx, dgamma, dbeta


def _rows(x, name: str):
    if x.ndim == 0:
        raise ValueError(f"{name}: expected an array of at least 1 dimension, got shape {x.shape}")
    return x.shape[-1]


def layer_norm(x, gamma=None, beta=None, epsilon=1e-3):
    cp = _cp()
    x = _float32(x, "x")
    width = _rows(x, "x")
    gamma = _channel_vector(gamma, "gamma", width, True)
    beta = _channel_vector(beta, "beta", width, True)
    eps = cp.float32(_epsilon(epsilon))
    if width == 0:
        nan = cp.full(x.shape[:-1], cp.nan, cp.float32)
        return x.copy(), nan, nan.copy()
    mean = x.mean(axis=-1, keepdims=True)
    centered = x - mean
    rstd = 1 / cp.sqrt(cp.square(centered).mean(axis=-1, keepdims=True) + eps)
    y = centered * rstd
    if gamma is not None:
        y *= gamma
    if beta is not None:
        y += beta
    return y, mean[..., 0], rstd[..., 0]


def layer_norm_backward(dy, x, gamma, mean, rstd):
    dy, x = _float32(dy, "dy"), _float32(x, "x")
    _same_shape(dy, "dy", x, "x")
    width = _rows(x, "x")
    gamma = _channel_vector(gamma, "gamma", width, True)
    stats = []
    for v, name in ((mean, "mean"), (rstd, "rstd")):
        v = _float32(v, name)
        _require_shape(
            v.shape == x.shape[:-1],
            name,
            v,
            f"shape {x.shape[:-1]} (x's shape without its last axis)",
        )
        stats.append(v[..., None])
    mean, rstd = stats
    xhat = (x - mean) * rstd
    g = dy if gamma is None else dy * gamma
    dx = rstd * (
        g - g.mean(axis=-1, keepdims=True) - xhat * (g * xhat).mean(axis=-1, keepdims=True)
    )
    lead = tuple(range(x.ndim - 1))
    return dx, (dy * xhat).sum(axis=lead), dy.sum(axis=lead)


# --- regression losses (CuPy compositions: one pass each, not a bottleneck next to the model) ----


def _regression_loss(pred, targets, terms_and_grad):
    pred = _float32(pred, "pred")
    targets = _float32(targets, "targets")
    _same_shape(targets, "targets", pred, "pred")
    terms, grad = terms_and_grad(pred - targets)
    return _mean(terms, pred.size), grad / max(pred.size, 1)


def mean_absolute_error(pred, targets):
    cp = _cp()
    return _regression_loss(pred, targets, lambda d: (cp.abs(d), cp.sign(d)))


def huber(pred, targets, delta=1.0):
    cp = _cp()
    delta = _finite_float(delta, "delta")
    if not delta > 0:
        raise ValueError(f"delta: expected a positive finite number, got {delta!r}")

    def terms_and_grad(d):
        inside = cp.abs(d) <= delta
        terms = cp.where(inside, 0.5 * d * d, delta * cp.abs(d) - 0.5 * delta * delta)
        return terms.astype(cp.float32), cp.where(inside, d, delta * cp.sign(d))

    return _regression_loss(pred, targets, terms_and_grad)


# --- the other Keras 3 optimizers, weight decay and weight averages -------------------------------
# Checked as the bindings check them, then the reference's element-wise lines run on CuPy arrays:
# a few fused-by-CuPy passes per weight, small next to a training step's matrix products.


def _nonnegative(v, name: str) -> float:
    f = _finite_float(v, name)
    if f < 0.0:
        raise ValueError(f"{name}: expected a number >= 0, got {v!r}")
    return f


def weight_decay_update(param, learning_rate, weight_decay):
    param = _inplace(param, "param")
    lr = _finite_float(learning_rate, "learning_rate")
    reference._weight_decay(_cp(), param, lr, _finite_float(weight_decay, "weight_decay"))


def ema_update(average, param, momentum):
    param = _float32(param, "param")
    average = _state_for(param, average, "average")
    reference._ema(_cp(), average, param, _in_unit_interval(momentum, "momentum", closed=True))


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
    param = _inplace(param, "param")
    grad = _grad_for(param, grad)
    grad_sq = _grad_sq_for(param, grad_sq)
    m = _state_for(param, m, "m")
    v = _state_for(param, v, "v")
    step = _int(step, "step", 1)
    u_product = _in_unit_interval(u_product, "u_product", closed=False)
    lr = _finite_float(learning_rate, "learning_rate")
    beta_1 = _in_unit_interval(beta_1, "beta_1", closed=False)
    beta_2 = _in_unit_interval(beta_2, "beta_2", closed=False)
    epsilon = _finite_float(epsilon, "epsilon")
    reference._nadam(
        _cp(), param, grad, m, v, step, u_product, lr, beta_1, beta_2, epsilon, grad_sq
    )


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
    param = _inplace(param, "param")
    grad = _grad_for(param, grad)
    grad_abs = None if grad_abs is None else _grad_for(param, grad_abs, "grad_abs")
    m = _state_for(param, m, "m")
    u = _state_for(param, u, "u")
    step = _int(step, "step", 1)
    lr = _finite_float(learning_rate, "learning_rate")
    beta_1 = _in_unit_interval(beta_1, "beta_1", closed=False)
    beta_2 = _in_unit_interval(beta_2, "beta_2", closed=True)
    epsilon = _finite_float(epsilon, "epsilon")
    reference._adamax(_cp(), param, grad, m, u, step, lr, beta_1, beta_2, epsilon, grad_abs)


def adagrad_update(param, grad, accumulator, learning_rate=0.001, epsilon=1e-7, grad_sq=None):
    param = _inplace(param, "param")
    grad = _grad_for(param, grad)
    grad_sq = _grad_sq_for(param, grad_sq)
    accumulator = _state_for(param, accumulator, "accumulator")
    lr = _finite_float(learning_rate, "learning_rate")
    epsilon = _finite_float(epsilon, "epsilon")
    reference._adagrad(_cp(), param, grad, accumulator, lr, epsilon, grad_sq)


def adadelta_update(
    param, grad, acc_grad, acc_delta, learning_rate=0.001, rho=0.95, epsilon=1e-7, grad_sq=None
):
    param = _inplace(param, "param")
    grad = _grad_for(param, grad)
    grad_sq = _grad_sq_for(param, grad_sq)
    acc_grad = _state_for(param, acc_grad, "acc_grad")
    acc_delta = _state_for(param, acc_delta, "acc_delta")
    lr = _finite_float(learning_rate, "learning_rate")
    rho = _in_unit_interval(rho, "rho", closed=True)
    epsilon = _finite_float(epsilon, "epsilon")
    reference._adadelta(_cp(), param, grad, acc_grad, acc_delta, lr, rho, epsilon, grad_sq)


def lion_update(param, grad, m, learning_rate=0.001, beta_1=0.9, beta_2=0.99):
    param = _inplace(param, "param")
    grad = _grad_for(param, grad)
    m = _state_for(param, m, "m")
    lr = _finite_float(learning_rate, "learning_rate")
    beta_1 = _in_unit_interval(beta_1, "beta_1", closed=True)
    beta_2 = _in_unit_interval(beta_2, "beta_2", closed=True)
    reference._lion(_cp(), param, grad, m, lr, beta_1, beta_2)


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
    param = _inplace(param, "param")
    grad = _grad_for(param, grad)
    grad_sq = _grad_sq_for(param, grad_sq)
    accumulator = _state_for(param, accumulator, "accumulator")
    linear = _state_for(param, linear, "linear")
    lr = _finite_float(learning_rate, "learning_rate")
    if lr <= 0.0:
        raise ValueError(f"learning_rate: expected a number > 0, got {learning_rate!r}")
    power = _finite_float(learning_rate_power, "learning_rate_power")
    if power > 0.0:
        raise ValueError(
            f"learning_rate_power: expected a number <= 0, got {learning_rate_power!r}"
        )
    l1 = _nonnegative(l1_regularization_strength, "l1_regularization_strength")
    l2 = _nonnegative(l2_regularization_strength, "l2_regularization_strength")
    shrinkage = _nonnegative(
        l2_shrinkage_regularization_strength, "l2_shrinkage_regularization_strength"
    )
    beta = _finite_float(beta, "beta")
    reference._ftrl(
        _cp(), param, grad, accumulator, linear, lr, power, l1, l2, shrinkage, beta, grad_sq
    )


# --- transposed and depthwise convolution (NHWC) -------------------------------------------------


def _transpose_args(x, w, strides, padding, output_padding):
    """x, w, the output shape, and the Window2d of the conv2d from that shape to x's."""
    x = _float32(x, "x", 4)
    w = _float32(w, "w", 4)
    strides, padding = _pair(strides, "strides"), _padding(padding)
    if output_padding is not None:
        ops_ = output_padding if isinstance(output_padding, (tuple, list)) else (output_padding,)
        if any(isinstance(p, bool) or not isinstance(p, (int, np.integer)) for p in ops_):
            raise TypeError(
                f"output_padding: expected an int or a pair of ints, got {output_padding!r}"
            )
    y_shape = reference._transposed(x.shape, w.shape, strides, padding, output_padding)
    return x, w, y_shape, _window(y_shape, w.shape[:2], strides, padding, "x")


def conv2d_transpose(x, w, b=None, strides=(1, 1), padding="valid", output_padding=None):
    x, w, y_shape, g = _transpose_args(x, w, strides, padding, output_padding)
    kh, kw, f, c = w.shape
    b = _float32_or_none(b, "b", 1)
    if b is not None:
        _require_shape(b.shape == (f,), "b", b, f"({f},) for w {w.shape}")
    rows, patch = x.size // c if c else 0, kh * kw * f
    dcols = _gemm(x.reshape(rows, c), w.reshape(patch, c), False, True, rows, patch, c)
    y = _cp().empty(y_shape, dtype=_cp().float32)
    _k.col2im(_ptr(dcols), g, _ptr(y), _stream())
    return y if b is None else y + b


def conv2d_transpose_backward(
    dy, x, w, strides=(1, 1), padding="valid", output_padding=None, need_dx=True
):
    need_dx = _bool(need_dx, "need_dx")
    dy = _float32(dy, "dy", 4)
    x, w, y_shape, g = _transpose_args(x, w, strides, padding, output_padding)
    kh, kw, f, c = w.shape
    _require_shape(dy.shape == y_shape, "dy", dy, f"{y_shape}, the output of conv2d_transpose")
    rows, patch = x.shape[0] * x.shape[1] * x.shape[2], kh * kw * f
    cols = _im2col(dy, g)  # dy's windows: one row per x cell
    dw = _gemm(cols, x.reshape(rows, c), True, False, patch, c, rows).reshape(w.shape)
    dx = None
    if need_dx:
        dx = _gemm(cols, w.reshape(patch, c), False, False, rows, c, patch).reshape(x.shape)
    return dx, dw, _bias_grad(dy, f)


# Depthwise as im2col and one batched product per channel: the columns (rows, taps, C) read as
# C matrices (rows, taps) times that channel's filters (taps, M).


def depthwise_conv2d(x, w, b=None, strides=(1, 1), padding="valid", dilation_rate=(1, 1)):
    d = _dilation(dilation_rate, strides)
    x, w, g = _conv_args(x, w, strides, padding, d, "depth_multiplier")
    kh, kw, c, m = w.shape
    b = _float32_or_none(b, "b", 1)
    if b is not None:
        _require_shape(b.shape == (c * m,), "b", b, f"({c * m},) for w {w.shape}")
    n, ho, wo = g[0], g[10], g[11]
    if d != (1, 1):
        return _dilated(depthwise_conv2d, x, w, b, g, d)
    cols = _im2col(x, g).reshape(n * ho * wo, kh * kw, c)
    y = _cp().matmul(cols.transpose(2, 0, 1), w.reshape(kh * kw, c, m).transpose(1, 0, 2))
    y = _cp().ascontiguousarray(y.transpose(1, 0, 2)).reshape(n, ho, wo, c * m)
    return y if b is None else y + b


def depthwise_conv2d_backward(
    dy, x, w, strides=(1, 1), padding="valid", need_dx=True, dilation_rate=(1, 1)
):
    need_dx = _bool(need_dx, "need_dx")
    dy = _float32(dy, "dy", 4)
    d = _dilation(dilation_rate, strides)
    x, w, g = _conv_args(x, w, strides, padding, d, "depth_multiplier")
    kh, kw, c, m = w.shape
    n, ho, wo = g[0], g[10], g[11]
    _require_shape(
        dy.shape == (n, ho, wo, c * m), "dy", dy, f"{(n, ho, wo, c * m)}, the output of depthwise"
    )
    if d != (1, 1):
        return _dilated_backward(depthwise_conv2d_backward, dy, x, w, g, d, need_dx)
    rows, taps = n * ho * wo, kh * kw
    cols = _im2col(x, g).reshape(rows, taps, c)
    dy3 = dy.reshape(rows, c, m).transpose(1, 0, 2)  # (C, rows, M)
    dw = _cp().matmul(cols.transpose(2, 1, 0), dy3)  # (C, taps, M)
    dw = _cp().ascontiguousarray(dw.transpose(1, 0, 2)).reshape(w.shape)
    dx = None
    if need_dx:
        dcols = _cp().matmul(dy3, w.reshape(taps, c, m).transpose(1, 2, 0))  # (C, rows, taps)
        dcols = _cp().ascontiguousarray(dcols.transpose(1, 2, 0))
        dx = _cp().empty(x.shape, dtype=_cp().float32)
        _k.col2im(_ptr(dcols), g, _ptr(dx), _stream())
    return dx, dw, _bias_grad(dy, c * m)
