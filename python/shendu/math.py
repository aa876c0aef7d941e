"""tf.math: tensor operations, computed eagerly with NumPy, with gradients for GradientTape.

Each differentiable operation computes its value, then hands ``tape.record`` a closure that
turns the gradient of its output into the gradients of its inputs (summed over the axes that
broadcasting added). The gradients follow TensorFlow's conventions: ``maximum``/``minimum`` and
``clip_by_value`` pass the gradient where the input wins or lies inside the bounds (ties and
bounds included), ``reduce_max``/``reduce_min`` share it equally among tied maxima, ``abs`` has
gradient 0 at 0, integer and boolean values get no gradient.

Operations without a gradient (comparisons, ``argmax``, ``round``, integer results) are not
recorded; a NumPy ufunc that has no gradient here, applied to a recorded float tensor, is
recorded as such, and differentiating through it raises ``tape.NoGradientError`` naming it.

Importing this module installs the operators of ``Tensor`` and ``VariableBase``.
"""

from __future__ import annotations

import builtins

import numpy as np

from . import tape as _tape
from .tensor import Tensor, VariableBase, eager, raw

# --- recording helpers --------------------------------------------------------------------------


def _record(name, inputs, value, backward):
    """value as a Tensor, recorded with backward(d) -> gradients aligned with inputs."""
    out = eager(value)
    if _tape._active:
        _tape.record(name, list(inputs), [out], lambda douts, need: backward(douts[0]))
    return out


def _is_float(a) -> bool:
    return np.dtype(a.dtype).kind in "fc"


def _unbroadcast(grad, shape):
    """grad summed down to shape (undoing NumPy broadcasting)."""
    if grad.shape == tuple(shape):
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


def _pair(x, y):
    """The arrays of a binary operation; a Python number takes the other operand's dtype, as
    TensorFlow's weakly typed constants do."""
    a, b = _scalar_or_raw(x), _scalar_or_raw(y)
    if isinstance(a, (int, float)) and not isinstance(a, builtins.bool):
        a = np.asarray(a, dtype=_weak_dtype(a, b))
    if isinstance(b, (int, float)) and not isinstance(b, builtins.bool):
        b = np.asarray(b, dtype=_weak_dtype(b, a))
    return np.asarray(a) if not hasattr(a, "dtype") else a, (
        np.asarray(b) if not hasattr(b, "dtype") else b
    )


def _scalar_or_raw(x):
    if isinstance(x, (int, float)) and not isinstance(x, builtins.bool):
        return x
    if isinstance(x, (list, tuple)):
        return _list_array(x)
    return raw(x)


def _list_array(x):
    a = np.asarray([raw(v) if isinstance(v, (np.ndarray, VariableBase)) else v for v in x])
    return a.astype(np.float32) if a.dtype == np.float64 else a


def _weak_dtype(scalar, other):
    kind = np.dtype(other.dtype).kind if hasattr(other, "dtype") else "f"
    if kind in "fc" or (kind in "iu" and isinstance(scalar, int)):
        return other.dtype
    return np.float32


def _arr(x):
    """The array of one operand (Python numbers and lists as TensorFlow makes constants)."""
    if isinstance(x, (list, tuple)):
        return _list_array(x)
    if isinstance(x, float):
        return np.asarray(x, np.float32)
    if isinstance(x, int) and not isinstance(x, builtins.bool):
        return np.asarray(x, np.int32)
    return raw(x)


def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axis = raw(axis) if isinstance(axis, np.ndarray) else axis
    axes = np.atleast_1d(np.asarray(axis)).tolist()
    return tuple(sorted(a % ndim for a in axes))


def _expand_to(d, shape, axes):
    """A reduction's output gradient broadcast back over the reduced axes."""
    keep = [1 if i in axes else n for i, n in enumerate(shape)]
    return np.broadcast_to(d.reshape(keep), shape)


# --- arithmetic ---------------------------------------------------------------------------------


def add(x, y, name=None):
    a, b = _pair(x, y)
    return _record(
        "add", (x, y), a + b, lambda d: (_unbroadcast(d, a.shape), _unbroadcast(d, b.shape))
    )


def subtract(x, y, name=None):
    a, b = _pair(x, y)
    return _record(
        "subtract", (x, y), a - b, lambda d: (_unbroadcast(d, a.shape), _unbroadcast(-d, b.shape))
    )


def multiply(x, y, name=None):
    a, b = _pair(x, y)
    return _record(
        "multiply",
        (x, y),
        a * b,
        lambda d: (_unbroadcast(d * b, a.shape), _unbroadcast(d * a, b.shape)),
    )


def divide(x, y, name=None):
    a, b = _pair(x, y)
    if not _is_float(a) and not _is_float(b):  # TensorFlow's truediv of integers
        a, b = a.astype(np.float64), b.astype(np.float64)
    return _record(
        "divide",
        (x, y),
        a / b,
        lambda d: (_unbroadcast(d / b, a.shape), _unbroadcast(-d * a / (b * b), b.shape)),
    )


def pow(x, y, name=None):  # noqa: A001 - TensorFlow's name
    a, b = _pair(x, y)
    out = a**b

    def backward(d):
        da = d * b * a ** (b - 1) if _is_float(a) else None
        db = None
        if _is_float(b):
            safe = np.where(a > 0, a, 1)
            db = _unbroadcast(d * out * np.log(safe) * (a > 0), b.shape)
        return (None if da is None else _unbroadcast(da, a.shape)), db

    return _record("pow", (x, y), out, backward)


def negative(x, name=None):
    return _record("negative", (x,), -_arr(x), lambda d: (-d,))


def square(x, name=None):
    a = _arr(x)
    return _record("square", (x,), a * a, lambda d: (2 * a * d,))


def sqrt(x, name=None):
    out = np.sqrt(_arr(x))
    return _record("sqrt", (x,), out, lambda d: (d / (2 * out),))


def exp(x, name=None):
    out = np.exp(_arr(x))
    return _record("exp", (x,), out, lambda d: (d * out,))


def log(x, name=None):
    a = _arr(x)
    return _record("log", (x,), np.log(a), lambda d: (d / a,))


def abs(x, name=None):  # noqa: A001 - TensorFlow's name
    a = _arr(x)
    return _record("abs", (x,), np.abs(a), lambda d: (d * np.sign(a),))


def sigmoid(x, name=None):
    a = _arr(x)
    out = (1 / (1 + np.exp(-a))).astype(a.dtype, copy=False)
    return _record("sigmoid", (x,), out, lambda d: (d * out * (1 - out),))


def tanh(x, name=None):
    out = np.tanh(_arr(x))
    return _record("tanh", (x,), out, lambda d: (d * (1 - out * out),))


def softplus(features, name=None):
    a = _arr(features)
    out = np.maximum(a, 0) + np.log1p(np.exp(-np.abs(a)))
    return _record("softplus", (features,), out, lambda d: (d / (1 + np.exp(-a)),))


def maximum(x, y, name=None):
    a, b = _pair(x, y)
    wins = a >= b
    return _record(
        "maximum",
        (x, y),
        np.maximum(a, b),
        lambda d: (_unbroadcast(d * wins, a.shape), _unbroadcast(d * ~wins, b.shape)),
    )


def minimum(x, y, name=None):
    a, b = _pair(x, y)
    wins = a <= b
    return _record(
        "minimum",
        (x, y),
        np.minimum(a, b),
        lambda d: (_unbroadcast(d * wins, a.shape), _unbroadcast(d * ~wins, b.shape)),
    )


def clip_by_value(t, clip_value_min, clip_value_max, name=None):
    a = _arr(t)
    lo, hi = np.asarray(raw(clip_value_min)), np.asarray(raw(clip_value_max))
    inside = (a >= lo) & (a <= hi)
    out = np.clip(a, lo, hi).astype(a.dtype, copy=False)
    return _record("clip_by_value", (t,), out, lambda d: (d * inside,))


def matmul(a, b, transpose_a=False, transpose_b=False, name=None):
    """Matrix product over the last two axes (leading axes broadcast)."""
    x, y = _arr(a), _arr(b)
    if x.ndim < 2 or y.ndim < 2:
        raise ValueError(
            f"matmul: both operands need at least 2 dimensions, got shapes {x.shape} and {y.shape}"
        )
    xt = np.swapaxes(x, -1, -2) if transpose_a else x
    yt = np.swapaxes(y, -1, -2) if transpose_b else y

    def backward(d):
        dxt = d @ np.swapaxes(yt, -1, -2)
        dyt = np.swapaxes(xt, -1, -2) @ d
        dx = np.swapaxes(dxt, -1, -2) if transpose_a else dxt
        dy = np.swapaxes(dyt, -1, -2) if transpose_b else dyt
        return _unbroadcast(dx, x.shape), _unbroadcast(dy, y.shape)

    return _record("matmul", (a, b), xt @ yt, backward)


def add_n(inputs, name=None):
    out = inputs[0]
    for t in inputs[1:]:
        out = add(out, t)
    return out


# --- reductions ---------------------------------------------------------------------------------


def reduce_sum(input_tensor, axis=None, keepdims=False, name=None):
    a = _arr(input_tensor)
    axes = _axes(axis, a.ndim)
    return _record(
        "reduce_sum",
        (input_tensor,),
        a.sum(axis=axes, keepdims=keepdims, dtype=None if a.dtype == np.bool_ else a.dtype),
        lambda d: (_expand_to(d, a.shape, axes).astype(a.dtype),),
    )


def reduce_mean(input_tensor, axis=None, keepdims=False, name=None):
    a = _arr(input_tensor)
    axes = _axes(axis, a.ndim)
    count = int(np.prod([a.shape[i] for i in axes]))
    out = a.mean(axis=axes, keepdims=keepdims)
    out = out.astype(a.dtype) if _is_float(a) else out.astype(a.dtype)  # ints: integer mean
    return _record(
        "reduce_mean",
        (input_tensor,),
        out,
        lambda d: ((_expand_to(d, a.shape, axes) / count).astype(a.dtype),),
    )


def _reduce_extreme(name, pick, input_tensor, axis, keepdims):
    a = _arr(input_tensor)
    axes = _axes(axis, a.ndim)
    out = pick(a, axis=axes, keepdims=True)

    def backward(d):
        ties = (a == out).astype(a.dtype)
        share = ties / ties.sum(axis=axes, keepdims=True)
        return (_expand_to(d, a.shape, axes) * share,)

    return _record(name, (input_tensor,), out if keepdims else out.squeeze(axis=axes), backward)


def reduce_max(input_tensor, axis=None, keepdims=False, name=None):
    return _reduce_extreme("reduce_max", np.max, input_tensor, axis, keepdims)


def reduce_min(input_tensor, axis=None, keepdims=False, name=None):
    return _reduce_extreme("reduce_min", np.min, input_tensor, axis, keepdims)


def reduce_logsumexp(input_tensor, axis=None, keepdims=False, name=None):
    a = _arr(input_tensor)
    axes = _axes(axis, a.ndim)
    top = np.max(a, axis=axes, keepdims=True)
    out = np.log(np.exp(a - top).sum(axis=axes, keepdims=True)) + top
    return _record(
        "reduce_logsumexp",
        (input_tensor,),
        out if keepdims else out.squeeze(axis=axes),
        lambda d: (_expand_to(d, a.shape, axes) * np.exp(a - out),),
    )


def reduce_prod(input_tensor, axis=None, keepdims=False, name=None):
    a = _arr(input_tensor)
    out = eager(a.prod(axis=_axes(axis, a.ndim), keepdims=keepdims))
    _no_gradient("reduce_prod", (input_tensor,), out)
    return out


def reduce_any(input_tensor, axis=None, keepdims=False, name=None):
    a = _arr(input_tensor)
    return eager(a.any(axis=_axes(axis, a.ndim), keepdims=keepdims))


def reduce_all(input_tensor, axis=None, keepdims=False, name=None):
    a = _arr(input_tensor)
    return eager(a.all(axis=_axes(axis, a.ndim), keepdims=keepdims))


def reduce_std(input_tensor, axis=None, keepdims=False, name=None):
    return sqrt(reduce_variance(input_tensor, axis, keepdims))


def reduce_variance(input_tensor, axis=None, keepdims=False, name=None):
    centered = subtract(input_tensor, reduce_mean(input_tensor, axis, keepdims=True))
    return reduce_mean(square(centered), axis, keepdims)


# --- shapes and selection -------------------------------------------------------------------------


def reshape(tensor, shape, name=None):
    a = _arr(tensor)
    shape = (
        tuple(int(n) for n in np.asarray(raw(shape)).reshape(-1))
        if not isinstance(shape, (list, tuple))
        else tuple(-1 if n is None else int(n) for n in shape)
    )
    return _record("reshape", (tensor,), a.reshape(shape), lambda d: (d.reshape(a.shape),))


def transpose(a, perm=None, conjugate=False, name=None):
    x = _arr(a)
    perm = tuple(range(x.ndim))[::-1] if perm is None else tuple(int(p) for p in perm)
    inverse = tuple(np.argsort(perm))
    return _record("transpose", (a,), x.transpose(perm), lambda d: (d.transpose(inverse),))


def expand_dims(input, axis, name=None):  # noqa: A002 - TensorFlow's name
    a = _arr(input)
    return _record(
        "expand_dims", (input,), np.expand_dims(a, int(axis)), lambda d: (d.reshape(a.shape),)
    )


def squeeze(input, axis=None, name=None):  # noqa: A002 - TensorFlow's name
    a = _arr(input)
    axes = None if axis is None else tuple(np.atleast_1d(axis).tolist())
    return _record("squeeze", (input,), np.squeeze(a, axes), lambda d: (d.reshape(a.shape),))


def concat(values, axis, name=None):
    arrays = [_arr(v) for v in values]
    ends = np.cumsum([a.shape[axis] for a in arrays])[:-1]
    return _record(
        "concat",
        tuple(values),
        np.concatenate(arrays, axis=axis),
        lambda d: tuple(np.split(d, ends, axis=axis)),
    )


def stack(values, axis=0, name=None):
    arrays = [_arr(v) for v in values]
    n = len(arrays)
    return _record(
        "stack",
        tuple(values),
        np.stack(arrays, axis=axis),
        lambda d: tuple(np.take(d, i, axis=axis) for i in range(n)),
    )


def unstack(value, num=None, axis=0, name=None):
    a = _arr(value)
    return [
        _record("unstack", (value,), np.take(a, i, axis=axis), _slice_grad(a, axis, i))
        for i in range(a.shape[axis])
    ]


def _slice_grad(a, axis, i):
    def backward(d):
        g = np.zeros(a.shape, d.dtype)
        index = [slice(None)] * a.ndim
        index[axis] = i
        g[tuple(index)] = d
        return (g,)

    return backward


def gather(params, indices, axis=0, batch_dims=0, name=None):
    if batch_dims:
        raise ValueError(f"gather: only batch_dims=0 is supported, got {batch_dims!r}")
    p, idx = _arr(params), np.asarray(raw(indices))
    axis = int(axis) % p.ndim

    def backward(d):
        g = np.zeros(p.shape, d.dtype)
        moved = np.moveaxis(g, axis, 0)
        np.add.at(
            moved, idx, np.moveaxis(d, list(range(axis, axis + idx.ndim)), list(range(idx.ndim)))
        )
        return (g, None)

    return _record("gather", (params, indices), np.take(p, idx, axis=axis), backward)


def _index_key(key):
    if isinstance(key, tuple):
        return tuple(_index_key(k) for k in key)
    if isinstance(key, (np.ndarray, VariableBase)):
        return raw(key)
    return key


def _is_basic(key) -> bool:
    keys = key if isinstance(key, tuple) else (key,)
    return all(k is None or k is Ellipsis or isinstance(k, (slice, int, np.integer)) for k in keys)


def getitem(tensor, key):
    """tensor[key]: slicing and indexing (what ``t[...]`` runs)."""
    a = _arr(tensor)
    key = _index_key(key)

    def backward(d):
        g = np.zeros(a.shape, d.dtype)
        if _is_basic(key):  # each element read at most once: a plain write is exact
            g[key] = d
        else:
            np.add.at(g, key, d)
        return (g,)

    return _record("strided_slice", (tensor,), a[key], backward)


def where(condition, x=None, y=None, name=None):
    c = np.asarray(raw(condition)).astype(builtins.bool)
    if x is None and y is None:
        return eager(np.argwhere(c).astype(np.int64))
    a, b = _pair(x, y)
    return _record(
        "where",
        (condition, x, y),
        np.where(c, a, b),
        lambda d: (
            None,
            _unbroadcast(np.where(c, d, 0).astype(d.dtype), a.shape),
            _unbroadcast(np.where(c, 0, d).astype(d.dtype), b.shape),
        ),
    )


def cast(x, dtype, name=None):
    a = _arr(x)
    dtype = np.dtype(dtype)
    out = a.astype(dtype)
    if not (_is_float(a) and dtype.kind in "fc"):
        return eager(out)  # no gradient through integers or booleans, as TensorFlow
    return _record("cast", (x,), out, lambda d: (d.astype(a.dtype),))


def identity(input, name=None):  # noqa: A002 - TensorFlow's name
    return _record("identity", (input,), np.array(_arr(input)), lambda d: (d,))


def stop_gradient(input, name=None):  # noqa: A002 - TensorFlow's name
    """The same values, not recorded: no gradient flows back through it."""
    return eager(np.array(_arr(input)))


# --- operations without a gradient ------------------------------------------------------------


def _no_gradient(name, inputs, out) -> None:
    """Records an operation that has no gradient, if it makes floats from recorded floats."""
    if _tape._active and _is_float(out):
        _tape.record(name, list(inputs), [out], None)


def argmax(input, axis=None, output_type=np.int64, name=None):  # noqa: A002
    a = _arr(input)
    return eager(np.argmax(a, axis=0 if axis is None else int(axis)).astype(output_type))


def argmin(input, axis=None, output_type=np.int64, name=None):  # noqa: A002
    a = _arr(input)
    return eager(np.argmin(a, axis=0 if axis is None else int(axis)).astype(output_type))


def _compare(fn):
    def op(x, y, name=None):
        a, b = _pair(x, y)
        return eager(fn(a, b))

    op.__name__ = fn.__name__
    op.__doc__ = f"Elementwise {fn.__name__} (a boolean tensor; no gradient)."
    return op


equal = _compare(np.equal)
not_equal = _compare(np.not_equal)
greater = _compare(np.greater)
greater_equal = _compare(np.greater_equal)
less = _compare(np.less)
less_equal = _compare(np.less_equal)
logical_and = _compare(np.logical_and)
logical_or = _compare(np.logical_or)


def logical_not(x, name=None):
    return eager(np.logical_not(_arr(x)))


def round(x, name=None):  # noqa: A001 - TensorFlow's name
    out = eager(np.round(_arr(x)))
    _no_gradient("round", (x,), out)
    return out


def floor(x, name=None):
    out = eager(np.floor(_arr(x)))
    _no_gradient("floor", (x,), out)
    return out


def sign(x, name=None):
    out = eager(np.sign(_arr(x)))
    _no_gradient("sign", (x,), out)
    return out


def is_nan(x, name=None):
    return eager(np.isnan(_arr(x)))


def is_finite(x, name=None):
    return eager(np.isfinite(_arr(x)))


def cumsum(x, axis=0, exclusive=False, reverse=False, name=None):
    a = _arr(x)
    if exclusive or reverse:
        raise ValueError("cumsum: exclusive and reverse are not supported by shendu")
    axis = int(axis)
    return _record(
        "cumsum",
        (x,),
        np.cumsum(a, axis=axis),
        lambda d: (np.flip(np.cumsum(np.flip(d, axis), axis=axis), axis),),
    )


# --- operators and NumPy ufuncs on tensors -------------------------------------------------------

# The ufuncs NumPy routes to a Tensor's __array_ufunc__, by the operation that differentiates them.
_UFUNCS = {
    np.add: add,
    np.subtract: subtract,
    np.multiply: multiply,
    np.true_divide: divide,
    np.power: pow,
    np.negative: negative,
    np.square: square,
    np.sqrt: sqrt,
    np.exp: exp,
    np.log: log,
    np.absolute: abs,
    np.maximum: maximum,
    np.minimum: minimum,
}


def _tensor_ufunc(self, ufunc, method, *inputs, **kwargs):
    if method == "__call__" and not kwargs and ufunc in _UFUNCS:
        return _UFUNCS[ufunc](*inputs)
    if method == "__call__" and not kwargs and ufunc is np.matmul:
        return matmul(*inputs)
    args = [raw(x) for x in inputs]
    if "out" in kwargs:
        kwargs["out"] = tuple(raw(o) for o in kwargs["out"])
    result = getattr(ufunc, method)(*args, **kwargs)
    outs = [eager(r) for r in (result if isinstance(result, tuple) else (result,))]
    for out in outs:
        _no_gradient(f"numpy.{ufunc.__name__}.{method}", inputs, out)
    return tuple(outs) if isinstance(result, tuple) else outs[0]


def _reflected(fn):
    return lambda self, other: fn(other, self)


def _install_operators() -> None:
    for cls in (Tensor, VariableBase):
        cls.__add__, cls.__radd__ = add, _reflected(add)
        cls.__sub__, cls.__rsub__ = subtract, _reflected(subtract)
        cls.__mul__, cls.__rmul__ = multiply, _reflected(multiply)
        cls.__truediv__, cls.__rtruediv__ = divide, _reflected(divide)
        cls.__matmul__, cls.__rmatmul__ = matmul, _reflected(matmul)
        cls.__pow__, cls.__rpow__ = pow, _reflected(pow)
        cls.__neg__ = negative
        cls.__abs__ = abs
        cls.__getitem__ = getitem
    VariableBase.__lt__, VariableBase.__le__ = less, less_equal
    VariableBase.__gt__, VariableBase.__ge__ = greater, greater_equal
    Tensor.__array_ufunc__ = _tensor_ufunc


_install_operators()


def __getattr__(name):
    raise AttributeError(f"shendu does not provide tf.math.{name}")
