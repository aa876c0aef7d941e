"""TensorFlow's core names that are not tf.math's: making tensors, ``function``, ``print``,
gradient clipping.

Python numbers and lists become float32 (floats) or int32 (integers) tensors, as
``tf.constant`` makes them; NumPy arrays keep their dtype.
"""

from __future__ import annotations

import builtins
import functools
import sys

import numpy as np

from . import math as _math
from .tensor import Tensor, VariableBase, eager, raw

newaxis = None


def _default_dtype(value) -> np.dtype | None:
    if isinstance(value, (np.ndarray, np.generic, VariableBase)):
        return None
    a = np.asarray(value)
    if a.dtype == np.float64:
        return np.dtype(np.float32)
    if a.dtype == np.int64 and not isinstance(value, np.integer):
        return np.dtype(np.int32)
    return None


def constant(value, dtype=None, shape=None, name=None) -> Tensor:
    """A new tensor holding value (copied), of dtype and reshaped (or filled) to shape."""
    dtype = np.dtype(dtype) if dtype is not None else _default_dtype(value)
    a = np.array(raw(value) if isinstance(value, (np.ndarray, VariableBase)) else value, dtype)
    if shape is not None:
        shape = tuple(int(n) for n in shape)
        a = np.full(shape, a, a.dtype) if a.size == 1 else a.reshape(shape)
    return eager(a)


def convert_to_tensor(value, dtype=None, dtype_hint=None, name=None) -> Tensor:
    """value as a tensor: a tensor of the right dtype is returned as it is, a variable is read
    (the read is recorded, so gradients reach the variable)."""
    if isinstance(value, VariableBase):
        value = _math.identity(value)
    if isinstance(value, Tensor):
        return (
            value if dtype is None or value.dtype == np.dtype(dtype) else _math.cast(value, dtype)
        )
    if dtype is None and dtype_hint is not None and _default_dtype(value) is not None:
        dtype = dtype_hint
    return constant(value, dtype)


def zeros(shape, dtype=np.float32, name=None) -> Tensor:
    return eager(np.zeros(_shape(shape), dtype))


def ones(shape, dtype=np.float32, name=None) -> Tensor:
    return eager(np.ones(_shape(shape), dtype))


def fill(dims, value, name=None) -> Tensor:
    return eager(np.full(_shape(dims), value, _default_dtype(value)))


def zeros_like(input, dtype=None, name=None) -> Tensor:  # noqa: A002 - TensorFlow's name
    return eager(np.zeros(np.shape(raw(input)), dtype or raw(input).dtype))


def ones_like(input, dtype=None, name=None) -> Tensor:  # noqa: A002 - TensorFlow's name
    return eager(np.ones(np.shape(raw(input)), dtype or raw(input).dtype))


def _shape(shape) -> tuple:
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(n) for n in np.asarray(raw(shape) if hasattr(shape, "dtype") else shape))


def range(start, limit=None, delta=1, dtype=None, name=None) -> Tensor:  # noqa: A001
    if limit is None:
        start, limit = 0, start
    values = np.arange(start, limit, delta)
    return eager(values.astype(dtype or _default_dtype(values.tolist()) or values.dtype))


def linspace(start, stop, num, name=None, axis=0) -> Tensor:
    return eager(np.linspace(raw(start), raw(stop), int(num), axis=axis).astype(np.float32))


def one_hot(indices, depth, on_value=1.0, off_value=0.0, axis=-1, dtype=np.float32, name=None):
    ids = np.asarray(raw(indices)).astype(np.int64)
    hot = ids[..., None] == np.arange(int(depth))
    out = np.where(hot, on_value, off_value).astype(dtype)
    return eager(np.moveaxis(out, -1, axis) if axis != -1 else out)


def shape(input, out_type=np.int32, name=None) -> Tensor:  # noqa: A002 - TensorFlow's name
    return eager(np.asarray(np.shape(raw(input)), out_type))


def size(input, out_type=np.int32, name=None) -> Tensor:  # noqa: A002 - TensorFlow's name
    return eager(np.asarray(np.size(raw(input)), out_type))


def rank(input, name=None) -> Tensor:  # noqa: A002 - TensorFlow's name
    return eager(np.asarray(np.ndim(raw(input)), np.int32))


def executing_eagerly() -> bool:
    return True


def function(func=None, input_signature=None, autograph=True, jit_compile=None, **kwargs):
    """``@tf.function``: in shendu the function runs eagerly, as written, every call (no
    tracing or graph; each layer and model call it makes already runs its native kernels).
    Accepts TensorFlow's arguments and ignores them, and works with or without parentheses."""
    if func is None:
        return functools.partial(function, input_signature=input_signature)
    wrapper = functools.wraps(func)(lambda *args, **kw: func(*args, **kw))
    wrapper.python_function = func
    return wrapper


def _printable(x):
    if isinstance(x, (np.ndarray, VariableBase)):
        return np.asarray(x)
    return x


def print(*inputs, output_stream=None, sep=" ", end="\n", summarize=None, name=None):  # noqa: A001
    """Prints tensors by their values (``tf.print``): to sys.stderr, as TensorFlow, unless
    output_stream says otherwise (sys.stdout, or "stdout"/"stderr")."""
    if output_stream is None or output_stream == "stderr":
        output_stream = sys.stderr
    elif output_stream == "stdout":
        output_stream = sys.stdout
    builtins.print(*(_printable(x) for x in inputs), sep=sep, end=end, file=output_stream)


def global_norm(t_list, name=None) -> Tensor:
    """sqrt(sum of the squares of every value in every tensor of t_list), None entries skipped."""
    total = builtins.sum(
        float(np.sum(np.square(np.asarray(raw(t), np.float64)))) for t in t_list if t is not None
    )
    return eager(np.float32(np.sqrt(total)))


def clip_by_global_norm(t_list, clip_norm, use_norm=None, name=None):
    """(tensors scaled by clip_norm / max(global_norm, clip_norm), global_norm), as TensorFlow:
    unchanged when their global norm is at most clip_norm; None entries stay None."""
    norm = global_norm(t_list) if use_norm is None else eager(np.float32(raw(use_norm)))
    scale = float(clip_norm) / builtins.max(float(norm), float(clip_norm))
    clipped = [
        None
        if t is None
        else eager((raw(t) * np.asarray(scale, raw(t).dtype)).astype(raw(t).dtype))
        for t in t_list
    ]
    return clipped, norm


def clip_by_norm(t, clip_norm, axes=None, name=None) -> Tensor:
    """t scaled so its L2 norm (over axes, or all) is at most clip_norm (recorded by tapes)."""
    norm = _math.sqrt(_math.reduce_sum(_math.square(t), axes, keepdims=True))
    scale = _math.divide(clip_norm, _math.maximum(norm, clip_norm))
    return _math.multiply(t, scale)


def norm(tensor, ord="euclidean", axis=None, keepdims=False, name=None):  # noqa: A002
    if ord not in ("euclidean", 2, "fro"):
        raise ValueError(f"norm: only the euclidean norm is supported, got ord={ord!r}")
    return _math.sqrt(_math.reduce_sum(_math.square(tensor), axis, keepdims))
