"""Eager values: ``Tensor`` (what operations return) and ``VariableBase`` (what variables share).

A ``Tensor`` is a NumPy array (an ``ndarray`` subclass, so every NumPy function and the C++
kernels accept it without a copy) with TensorFlow's ``.numpy()``. Its operators (``+ - * / @ **``,
negation, indexing) and the NumPy ufuncs called on it are the differentiable operations of
``shendu.math``, which installs them when it is imported (``import shendu`` does), so a
``GradientTape`` records them. Tensors live on the host: on the GPU device, layer and model calls
compute on the GPU and hand back host tensors.

``VariableBase`` is the part of ``tf.Variable`` that Keras weights share: ``assign``,
``assign_add``, ``assign_sub``, ``read_value``, ``numpy()`` and the same operators; tapes watch
the trainable ones.
"""

from __future__ import annotations

import numpy as np

from . import _device


class Tensor(np.ndarray):
    """An eager value: a NumPy array whose operators a GradientTape records."""

    def numpy(self) -> np.ndarray:
        return self.view(np.ndarray)

    def __repr__(self) -> str:
        return f"<tf.Tensor: shape={self.shape}, dtype={self.dtype.name}, numpy={self.numpy()!r}>"

    def __str__(self) -> str:
        return str(self.numpy())


def eager(x):
    """Wraps an ndarray (or a list of them) as Tensor without copying (CuPy arrays stay as they
    are: tensors live on the host)."""
    if isinstance(x, (list, tuple)):
        return [eager(v) for v in x]
    if _device._is_cupy(x):
        return x
    return np.asarray(x).view(Tensor)


def raw(x):
    """The array behind a tensor or variable: a plain ndarray (a view), or the CuPy array."""
    if type(x) is np.ndarray:
        return x
    if isinstance(x, np.ndarray):
        return x.view(np.ndarray)
    if isinstance(x, VariableBase):
        return x.value
    if _device._is_cupy(x):
        return x
    return np.asarray(x)


class VariableBase:
    """What every variable has: a ``value`` array updated in place, ``trainable``, and ``name``.

    NumPy defers to the variable's operators (``__array_ufunc__ = None``), so ``array * v`` is
    ``v.__rmul__(array)`` and is recorded by a tape.
    """

    _is_variable = True
    __array_ufunc__ = None

    @property
    def shape(self) -> tuple:
        return self.value.shape

    @property
    def ndim(self) -> int:
        return self.value.ndim

    @property
    def dtype(self):
        return self.value.dtype

    def numpy(self) -> np.ndarray:
        return _device.to_host(self.value, copy=True)

    def __array__(self, dtype=None, copy=None):
        value = _device.to_host(self.value)
        return value if dtype is None else value.astype(dtype)

    def read_value(self) -> Tensor:
        return eager(_device.to_host(self.value, copy=True))

    def assign(self, value, read_value=False):
        xp = _device.array_module(self.value)
        value = raw(value)
        value = xp.asarray(value) if xp is not np else _device.to_host(value)
        if value.shape != self.value.shape:
            raise ValueError(
                f"Variable {getattr(self, 'path', self.name)!r}: cannot assign a value of "
                f"shape {value.shape} to a variable of shape {self.value.shape}"
            )
        xp.copyto(self.value, value, casting="unsafe")
        return self if read_value else None

    def assign_add(self, delta, read_value=False):
        return self.assign(
            self.value + _device.array_module(self.value).asarray(raw(delta)), read_value
        )

    def assign_sub(self, delta, read_value=False):
        return self.assign(
            self.value - _device.array_module(self.value).asarray(raw(delta)), read_value
        )

    def __float__(self) -> float:
        return float(_device.to_host(self.value))

    def __int__(self) -> int:
        return int(_device.to_host(self.value))

    def __len__(self) -> int:
        return len(self.value)
